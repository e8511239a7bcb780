"""The nodes' tests use the XMPP tests' real Prosody."""

from ..xmpp.conftest import prosody  # noqa: F401  (a fixture)
