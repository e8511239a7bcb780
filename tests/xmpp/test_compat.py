"""wokkel 18.0.0 imports on current Twisted through our compatibility module."""

from __future__ import annotations

import subprocess
import sys

import constantly


def test_wokkel_imports_in_a_fresh_interpreter() -> None:
    """Nothing imported before: the shim alone must make wokkel importable, muc included
    (it needs ``twisted.python.constants``), without a deprecation warning escaping."""
    script = (
        "import warnings; warnings.simplefilter('error', DeprecationWarning)\n"
        "import occi_twisted.xmpp.compat\n"
        "import wokkel.pubsub, wokkel.component, wokkel.disco, wokkel.data_form\n"
        "warnings.resetwarnings()\n"
        "import wokkel.muc\n"
        "from twisted.python.compat import _PY3\n"
        "assert _PY3 is True\n"
        "print('imported')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported"


def test_the_shim_is_idempotent() -> None:
    import importlib

    from occi_twisted.xmpp import compat

    importlib.reload(compat)
    import twisted.python.compat
    import twisted.python.constants  # type: ignore[import-not-found]
    from wokkel import component, disco, pubsub

    assert twisted.python.compat._PY3 is True  # type: ignore[attr-defined]
    assert twisted.python.constants is constantly
    assert pubsub.PubSubService and component.Component and disco.DiscoHandler
