"""Domain errors: what can be wrong with a request, in words a person can act on.

The HTTP layer maps each class to one status code in one place; the model and the renderings
raise them without knowing about HTTP.
"""

from __future__ import annotations


class OCCIError(Exception):
    """Base of every error the model, renderings and store raise on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(OCCIError):
    """The request is malformed: a rendering that does not parse, a missing part."""


class InvalidAttribute(BadRequest):
    """An attribute value does not fit its definition."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"Attribute {name} {problem}.")
        self.name = name


class UnknownCategory(BadRequest):
    """A category that neither the model nor a user mixin defines."""


class Unauthorized(OCCIError):
    """Whoever sent the request may not use this location at all without credentials (an
    introspection principal outside its compute)."""


class Forbidden(OCCIError):
    """The request is understood and the principal known, but it may not be carried out:
    a quota it would exceed, a size no disk can hold."""


class QuotaExceeded(Forbidden):
    """A change would take its owner beyond one of their quotas; nothing was stored."""


class NotFound(OCCIError):
    """Nothing lives at that location."""


class Conflict(OCCIError):
    """The request contradicts the stored state (an id in use, an invalid state transition)."""


class AlreadyExists(Conflict):
    """A new entity's id is taken: by someone else's, or -- for a writer that found the id
    free a moment before -- by another writer that came first."""

    def __init__(self, entityId: str) -> None:
        super().__init__(f"An entity with the id {entityId} already exists.")
        self.entityId = entityId


class PreconditionFailed(OCCIError):
    """A conditional request's precondition (If-Match) does not hold."""


class MethodNotAllowed(OCCIError):
    """The location exists but does not take that method."""

    def __init__(self, message: str, allowed: tuple[str, ...]) -> None:
        super().__init__(message)
        self.allowed = allowed


class NotAcceptable(OCCIError):
    """No rendering the server has satisfies the client's Accept header."""


class UnsupportedMediaType(OCCIError):
    """The request body is in a media type the server cannot read."""


class TooLarge(OCCIError):
    """The request body, or a page the client asked for, is larger than the server allows."""


class Unprocessable(OCCIError):
    """The request is well-formed but cannot be carried out as asked (e.g. key reuse)."""


class NotImplementedByServer(OCCIError):
    """The client speaks a protocol version, or asks for a feature, this server lacks."""


class InsufficientStorage(OCCIError):
    """What the client sent cannot be written: the server's disk is full or failing."""


class Gone(OCCIError):
    """The entity existed and no longer does, and where it went is unknown."""


class Moved(OCCIError):
    """The entity migrated: it lives at ``location`` (an absolute URL) now."""

    def __init__(self, message: str, location: str) -> None:
        super().__init__(message)
        self.location = location
