"""A request as clients see it: the model's (:mod:`occi_twisted.model.requestview`), named
here for the operations' callers."""

from ..model.requestview import (
    parseTimestamp,
    requestETag,
    requestsPath,
    requestView,
    requestViewAt,
    timestamp,
)

__all__ = [
    "parseTimestamp",
    "requestETag",
    "requestView",
    "requestViewAt",
    "requestsPath",
    "timestamp",
]
