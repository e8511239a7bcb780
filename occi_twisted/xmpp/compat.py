"""wokkel 18.0.0 (its last release) on the Twisted of today: import this before any wokkel module.

wokkel imports two things current Twisted no longer has: ``twisted.python.compat._PY3`` (read
by ``wokkel.data_form``) and the module ``twisted.python.constants`` (``wokkel.muc``), which
left Twisted as the ``constantly`` package, with the same classes.  Importing this module puts
both back -- ``_PY3`` is ``True``, ``twisted.python.constants`` *is* ``constantly`` -- and then
imports the wokkel modules this package uses, so that the deprecation warnings their
``from twisted.python.compat import unicode`` lines raise are silenced once, here, instead of
reaching the server's log.  It is idempotent, and changes nothing Twisted still has.
"""

from __future__ import annotations

import importlib
import sys
import warnings

import constantly
import twisted.python
import twisted.python.compat

if not hasattr(twisted.python.compat, "_PY3"):
    twisted.python.compat._PY3 = True  # type: ignore[attr-defined]

try:
    importlib.import_module("twisted.python.constants")
except ImportError:
    sys.modules["twisted.python.constants"] = constantly
    twisted.python.constants = constantly  # type: ignore[attr-defined]

with warnings.catch_warnings():
    # Only these: wokkel's imports of Twisted's Python 2 aliases (unicode, iteritems, ...).
    warnings.filterwarnings("ignore", category=DeprecationWarning,
                            message=r"twisted\.python\.compat\.")
    import wokkel.component
    import wokkel.data_form
    import wokkel.disco
    import wokkel.generic
    import wokkel.pubsub
    import wokkel.subprotocols  # noqa: F401

__all__: list[str] = []
