"""``occi``, the command-line client: OCCI over HTTP from a shell or a script.

Its own room: it reads the server's answers with the renderings' parsers and builds paths with
:mod:`occi_twisted.model.locations`, and knows nothing else of the server's insides, so that
what it does is what any client can do over HTTP.
"""

from .main import main

__all__ = ["main"]
