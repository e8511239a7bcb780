"""The HTTP front end: the only room that sees requests."""
