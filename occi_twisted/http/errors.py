"""The one place where domain errors become HTTP status codes."""

from __future__ import annotations

from ..model import errors

#: Most specific first: the first class an error is an instance of decides its status.
STATUS: tuple[tuple[type[errors.OCCIError], int], ...] = (
    (errors.Moved, 301),
    (errors.UnknownCategory, 400),
    (errors.BadRequest, 400),
    (errors.Unauthorized, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.MethodNotAllowed, 405),
    (errors.NotAcceptable, 406),
    (errors.Gone, 410),
    (errors.Conflict, 409),
    (errors.PreconditionFailed, 412),
    (errors.TooLarge, 413),
    (errors.UnsupportedMediaType, 415),
    (errors.Unprocessable, 422),
    (errors.NotImplementedByServer, 501),
    (errors.InsufficientStorage, 507),
)


def statusFor(error: errors.OCCIError) -> int:
    """The HTTP status code that tells a client what kind of mistake ``error`` is."""
    for cls, code in STATUS:
        if isinstance(error, cls):
            return code
    return 400
