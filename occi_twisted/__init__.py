"""occi-twisted: an OCCI 1.2 server on Twisted."""

__version__ = "0.1.0"
