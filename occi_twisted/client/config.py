"""Where the client connects and as whom: the endpoint, the credentials and the certificates
it trusts, from options first, then the environment, then ``~/.netrc``; and the XMPP account
that, when one is given, brings a request's events as they happen.

Scripts set ``OCCI_ENDPOINT``, ``OCCI_USER`` and ``OCCI_PASSWORD`` once; people keep a
password out of their shell history in ``~/.netrc`` (the file curl and ftp read), found by
the endpoint's host name.  Pure: no Twisted, no network.
"""

from __future__ import annotations

import ipaddress
import netrc
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from .errors import UsageError

#: Where ``twistd -n occi`` listens unless told otherwise.
DEFAULT_ENDPOINT = "http://127.0.0.1:8080/"


@dataclass(frozen=True)
class Connection:
    """The endpoint (with a trailing ``/``), the Basic credentials (or none) and a CA file
    (or a directory of them, rOCCI-cli's ``--ca-path``) to trust instead of the system's
    certificates."""

    endpoint: str
    credentials: tuple[str, str] | None = None
    caFile: Path | None = None

    def url(self, where: str) -> str:
        """``where`` -- an absolute URL, or a path such as ``/compute/ID`` or ``compute/``
        -- as an absolute URL on this endpoint."""
        if "://" in where:
            return where
        return urljoin(self.endpoint, where)

    def sameOrigin(self, url: str) -> bool:
        """Whether ``url`` is on the endpoint's scheme, host and port: the only place the
        credentials are sent (a signed URL elsewhere needs none)."""
        mine, theirs = urlsplit(self.endpoint), urlsplit(url)
        return (mine.scheme, mine.netloc) == (theirs.scheme, theirs.netloc)


def connectionFrom(endpoint: str | None, user: str | None, password: str | None,
                   caFile: str | None, environ: Mapping[str, str] | None = None,
                   *, anonymous: bool = False) -> Connection:
    """The connection the options, the environment and ``~/.netrc`` describe, in that
    order of precedence; ``anonymous`` sends no credentials whatever is configured."""
    env = os.environ if environ is None else environ
    where = endpoint or env.get("OCCI_ENDPOINT") or DEFAULT_ENDPOINT
    parts = urlsplit(where)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"the endpoint must be an http:// or https:// URL, not {where!r}")
    if not where.endswith("/"):
        where += "/"
    ca = Path(caFile) if caFile else None
    if ca is not None and not (ca.is_file() or ca.is_dir()):
        raise UsageError(f"the CA file {caFile} is not a readable file")
    if anonymous:
        return Connection(where, None, ca)
    name = user or env.get("OCCI_USER")
    secret = password if password is not None else env.get("OCCI_PASSWORD")
    if name is None or secret is None:
        fromNetrc = _netrc(parts.hostname, env)
        if fromNetrc is not None and (name is None or name == fromNetrc[0]):
            name, secret = fromNetrc[0], secret if secret is not None else fromNetrc[1]
    if name is not None and secret is None:
        raise UsageError(f"no password for {name}: give --password, OCCI_PASSWORD or a "
                         f"~/.netrc line for {parts.hostname}")
    credentials = (name, secret) if name is not None and secret is not None else None
    return Connection(where, credentials, ca)


def _netrc(host: str, env: Mapping[str, str]) -> tuple[str, str] | None:
    """The login and password ``~/.netrc`` gives ``host`` (or its ``default``)."""
    home = env.get("HOME") or os.path.expanduser("~")
    path = Path(home) / ".netrc"
    if not path.is_file():
        return None
    if path.stat().st_mode & 0o077:
        # As ftp and Python's netrc module do: a password others may read is no secret.
        raise UsageError(f"cannot read {path}: others may read it (chmod 600 {path})")
    try:
        found = netrc.netrc(str(path)).authenticators(host)
    except (netrc.NetrcParseError, OSError) as problem:
        raise UsageError(f"cannot read {path}: {problem}") from None
    if found is None or not found[0]:
        return None
    return found[0], found[2] or ""


@dataclass(frozen=True)
class XMPPAccount:
    """An XMPP account to receive events with: its JID and password, the server's pubsub
    service (the server's ``--xmpp-jid``), and where to connect (host and port; by default
    the JID's domain, port 5222)."""

    jid: str
    password: str
    service: str
    host: str
    port: int = 5222

    @property
    def loopback(self) -> bool:
        """Whether the XMPP server is on this machine: the only place a stream without
        TLS is accepted (a trial server without certificates)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def xmppFrom(jid: str | None, passwordFile: str | None, service: str | None,
             server: str | None, environ: Mapping[str, str] | None = None
             ) -> XMPPAccount | None:
    """The XMPP account the options and the environment (``OCCI_XMPP_JID``,
    ``OCCI_XMPP_PASSWORD``, ``OCCI_XMPP_SERVICE``, ``OCCI_XMPP_SERVER``) describe; ``None``
    without a JID, and the client follows by long poll."""
    env = os.environ if environ is None else environ
    jid = jid or env.get("OCCI_XMPP_JID")
    if not jid:
        return None
    local, at, domain = jid.partition("/")[0].rpartition("@")
    if not at or not local or not domain:
        raise UsageError(f"the XMPP JID must be user@domain, not {jid!r}")
    if passwordFile:
        try:
            password = Path(passwordFile).read_text(encoding="utf-8").splitlines()[0]
        except (OSError, UnicodeDecodeError, IndexError) as problem:
            raise UsageError(f"cannot read the XMPP password from {passwordFile}: "
                             f"{getattr(problem, 'strerror', None) or 'empty'}") from None
    elif env.get("OCCI_XMPP_PASSWORD") is not None:
        password = env["OCCI_XMPP_PASSWORD"]
    else:
        raise UsageError(f"no XMPP password for {jid}: give --xmpp-password-file or "
                         "OCCI_XMPP_PASSWORD")
    service = service or env.get("OCCI_XMPP_SERVICE")
    if not service:
        raise UsageError("give --xmpp-service: the server's pubsub service (its --xmpp-jid), "
                         "or OCCI_XMPP_SERVICE")
    where = server or env.get("OCCI_XMPP_SERVER")
    if not where:
        return XMPPAccount(jid, password, service, domain)
    host, colon, port = where.rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"the XMPP server must be HOST:PORT, not {where!r}")
    return XMPPAccount(jid, password, service, host, int(port))
