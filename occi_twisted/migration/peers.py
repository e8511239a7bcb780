"""The peers: the OCCI endpoints this one may migrate resources to, and how to reach them.

An operator names them with ``--peer URL`` (repeatable) or in the TOML configuration::

    [peers."https://occi-b.example.com"]
    username = "migrator"
    password = "..."
    ca-file = "/etc/occi/peer-ca.pem"   # optional: whom to trust for that peer's TLS

A migration's ``target`` must be one of them, spelled as configured: the server never
connects to a URL a client made up (no request forgery through it).  Only this module reads
the tables; :mod:`.client` makes the HTTP client of each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_KEYS = frozenset({"username", "password", "ca-file"})


@dataclass(frozen=True)
class Peer:
    """One OCCI endpoint, its credentials (HTTP Basic) and the CA file its TLS is checked
    with (``None``: the system's trust store)."""

    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    caFile: Path | None = None

    @property
    def credentials(self) -> tuple[str, str] | None:
        if self.username is None or self.password is None:
            return None
        return (self.username, self.password)


def peerURL(text: str) -> str:
    """A peer's URL as it is compared and stored: absolute http(s), no query, no fragment,
    no trailing ``/``; ValueError says what is wrong in one line."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
            or parts.fragment or parts.username or parts.password:
        raise ValueError(f"a peer must be an absolute http(s) URL without credentials, query "
                         f"or fragment, not {text[:100]!r}")
    return text.strip().rstrip("/")


def peersOf(named: Sequence[str], tables: Any) -> tuple[Peer, ...]:
    """The peers of the command line's ``--peer`` URLs (else the TOML tables' names), with
    the credentials the ``[peers."URL"]`` tables give; ValueError says what is wrong."""
    if not isinstance(tables, Mapping):
        raise ValueError('peers in the config file is the [peers."URL"] tables')
    settings = {peerURL(url): table for url, table in tables.items()}
    urls = [peerURL(url) for url in named] or list(settings)
    peers: dict[str, Peer] = {}
    for url in urls:
        peers[url] = _peer(url, settings.get(url, {}))
    return tuple(peers.values())


def _peer(url: str, table: Any) -> Peer:
    if not isinstance(table, Mapping):
        raise ValueError(f'[peers."{url}"] must be a table (username, password, ca-file)')
    unknown = set(table) - _KEYS
    if unknown:
        raise ValueError(f'unknown setting(s) in [peers."{url}"]: {", ".join(sorted(unknown))}')
    values = {key: table.get(key) for key in _KEYS}
    for key, value in values.items():
        if value is not None and (not isinstance(value, str) or not value):
            raise ValueError(f'{key} in [peers."{url}"] must be a non-empty string')
    if (values["username"] is None) != (values["password"] is None):
        raise ValueError(f'[peers."{url}"] needs both username and password, or neither')
    caFile = None
    if values["ca-file"] is not None:
        if not url.startswith("https:"):
            raise ValueError(f'ca-file in [peers."{url}"] is for an https peer')
        caFile = Path(values["ca-file"]).expanduser()
        if not caFile.is_file():
            raise ValueError(f'the ca-file of [peers."{url}"], {caFile}, is not a readable '
                             "file")
    return Peer(url, values["username"], values["password"], caFile)
