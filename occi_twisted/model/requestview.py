"""A request as clients see it: an entity of the request kind under its entity's location.

Pure functions of a :class:`~occi_twisted.model.requests.RequestRecord`, so that the HTTP
layer, the operations and the Atom rendering of a request's steps show a request alike.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from .attributes import Value
from .entity import Entity
from .locations import requestAt, requestsOf
from .requests import PREFIX, REQUEST, RequestRecord, RequestState, SubResource


def requestsPath(entity: Entity) -> str:
    """The requests sub-collection of ``entity``."""
    return requestsOf(entity.location)


def requestView(record: RequestRecord, entity: Entity) -> SubResource:
    """``record`` rendered as a resource at ``{entity}/requests/{id}``."""
    return requestViewAt(record, entity.location)


def requestViewAt(record: RequestRecord, location: str) -> SubResource:
    """``record`` rendered as a resource under the entity at ``location``."""
    attributes: dict[str, Value] = {
        "occi.core.id": record.id,
        "occi.core.title": f"{record.action.rpartition('#')[2]} {location}",
        f"{PREFIX}.action": record.action,
        f"{PREFIX}.target": location,
        f"{PREFIX}.state": record.state.value,
        f"{PREFIX}.percent": _percent(record),
        f"{PREFIX}.not_before": timestamp(record.notBefore),
        f"{PREFIX}.created": timestamp(record.created),
        f"{PREFIX}.attempts": record.attempts,
    }
    if record.attributes:
        attributes[f"{PREFIX}.parameters"] = dict(record.attributes)
    if record.progress:
        attributes[f"{PREFIX}.progress"] = dict(record.progress)
    if record.cancelRequested and not record.state.isFinal:
        attributes[f"{PREFIX}.message"] = ("Cancel asked for: it stops at its next "
                                           "checkpoint.")
    elif record.message:
        attributes[f"{PREFIX}.message"] = record.message
    if record.started is not None:
        attributes[f"{PREFIX}.started"] = timestamp(record.started)
    if record.finished is not None:
        attributes[f"{PREFIX}.finished"] = timestamp(record.finished)
    if record.state is RequestState.RUNNING and record.claimedBy is not None:
        attributes[f"{PREFIX}.node"] = record.claimedBy
    return SubResource(
        kind=REQUEST, mixins=(), attributes=attributes, owner=record.owner,
        revision=record.revision, created=record.created, updated=record.updated,
        path=requestAt(location, record.id),
    )


def requestETag(record: RequestRecord) -> str:
    """Changes with every change a client can see: state, progress, message."""
    return f'"req-{record.revision}"'


def timestamp(when: float) -> str:
    """RFC 3339 in UTC, to the millisecond."""
    moment = datetime.fromtimestamp(when, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parseTimestamp(text: str) -> float:
    """RFC 3339 (a zone is required) or epoch seconds; ``ValueError`` otherwise."""
    text = text.strip()
    if not text.isascii():  # float() and fromisoformat() would read other scripts' digits
        raise ValueError(f"{text[:60]!r} is not an RFC 3339 time nor epoch seconds.")
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not (math.isfinite(seconds) and 0 <= seconds <= _LAST):
            raise ValueError(f"{text!r} is not a time between 1970 and 9999.")
        return seconds
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        if moment.tzinfo is None:
            raise ValueError(f"{text!r} has no time zone; end it with Z or an offset.")
        seconds = moment.timestamp()
    except (OverflowError, OSError):
        raise ValueError(f"{text!r} is not a time between 1970 and 9999.") from None
    if not 0 <= seconds <= _LAST:
        raise ValueError(f"{text!r} is not a time between 1970 and 9999.")
    return seconds


#: The last second of year 9999 (UTC): the latest time RFC 3339 can write.
_LAST = 253402300799.0


def _percent(record: RequestRecord) -> float:
    if record.state.value == "succeeded":
        return 100.0
    value = record.progress.get("percent", 0.0)
    return float(value) if isinstance(value, (int, float)) else 0.0
