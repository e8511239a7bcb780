"""occi-twisted: an OCCI 1.2 server on Twisted."""
