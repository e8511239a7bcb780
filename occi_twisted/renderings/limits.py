"""The limits on what a parser reads, the same in every rendering, so that each one bounds the
same work whatever the bytes.  (The HTTP layer refuses larger bodies earlier; these bound the
parsers themselves.)"""

#: Sizes: the largest body (or sum of OCCI header values) read, and the longest line (or header
#: value), with room for the model's longest string, escaped.
MAX_BODY = 2 * 1024 * 1024
MAX_LINE = 256 * 1024

#: Counts: the most lines in a body (or OCCI header instances in a request), the most values
#: (categories, links, attributes, locations) in one document, the most attributes in one
#: document and on one link.
MAX_LINES = 10_000
MAX_VALUES = 10_000
MAX_ATTRIBUTES = 1_000

#: Lengths: the longest identifier, scheme, location or attribute name, the most digits in an
#: integer and characters in a float (a double needs at most ~330).
MAX_NAME = 2048
MAX_DIGITS = 300
MAX_FLOAT = 400

#: The deepest nesting of a list or hash value (lists and hashes inside lists and hashes).
MAX_DEPTH = 32
