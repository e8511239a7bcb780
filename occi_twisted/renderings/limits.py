"""The limits on what a parser reads, the same in every rendering, so that each one bounds the
same work whatever the bytes.

How large a body may be is not among them: that is one limit, the operator's ``--max-body``,
which the HTTP layer enforces before a parser sees the body (``http/parts.py``).  Within it,
these bound the work: lines, values, nesting, the length of a name or a number."""

from ..model.attributes import MAX_DEPTH, MAX_DIGITS

#: Sizes: the most bytes of OCCI header values in one request (``text/occi``), and the longest
#: line (or header value), with room for the model's longest string, escaped.
MAX_HEADERS = 2 * 1024 * 1024
MAX_LINE = 256 * 1024

#: Counts: the most lines in a body (or OCCI header instances in a request), the most values
#: (categories, links, attributes, locations) in one document, the most attributes in one
#: document and on one link.
MAX_LINES = 10_000
MAX_VALUES = 10_000
MAX_ATTRIBUTES = 1_000

#: Lengths: the longest identifier, scheme, location or attribute name, and the most
#: characters in a float (a double needs at most ~330).  The most digits in an integer and
#: the deepest nesting of a list or hash value are the model's (:data:`MAX_DIGITS`,
#: :data:`MAX_DEPTH`), which checks every value again.
MAX_NAME = 2048
MAX_FLOAT = 400

__all__ = ["MAX_ATTRIBUTES", "MAX_DEPTH", "MAX_DIGITS", "MAX_FLOAT", "MAX_HEADERS",
           "MAX_LINE", "MAX_LINES", "MAX_NAME", "MAX_VALUES"]
