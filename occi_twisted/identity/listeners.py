"""Which listeners a server may open, decided at start-up from the ``--listen`` strings.

Without ``--users`` nobody logs in and every request acts as ``admin``: such a server must
be reachable from this machine only.  With users, Basic credentials travel in clear text
unless the listener is TLS; on loopback nobody else can read them.  ``--insecure`` is the
operator saying they know (a trusted network, a TLS proxy in front).

Endpoint strings are read with Twisted's own grammar (``serverFromString``'s tokenizer),
and their parameters bound to the signatures of Twisted's own parsers, so that ``tcp:80``,
``tcp:port=80:interface=::`` and ``tcp:80:127.0.0.1`` mean here what they mean to
``strports``; nothing is opened, and no certificate is read.
"""

from __future__ import annotations

import inspect
import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from twisted.internet import endpoints

from ..model.numbers import wholeNumber

#: The parsers whose parameters we bind (their first, the factory or reactor, is None).
_PARSERS: Final[dict[str, Callable[..., Any]]] = {
    "tcp": endpoints._parseTCP,
    "ssl": endpoints._parseSSL,
    "tcp6": endpoints._TCP6ServerParser()._parseServer,
    "unix": endpoints._parseUNIX,
}
_LOOPBACK_NAMES: Final = frozenset({"localhost", "ip6-localhost", "ip6-loopback"})


class ListenerError(ValueError):
    """A listener this server must not (or cannot) open; the message is the one line."""


@dataclass(frozen=True)
class Listener:
    """One ``--listen`` endpoint as the policy sees it."""

    description: str
    #: ``tcp``, ``ssl``, ``unix``, ... (the endpoint string's prefix).
    kind: str
    #: Reachable from this machine only: a loopback interface or a UNIX socket.
    local: bool
    #: Speaks TLS: responses on it carry ``Strict-Transport-Security``.
    tls: bool
    #: Where it listens, for messages: an interface address, a path, or "all interfaces".
    where: str


def listenerOf(description: str) -> Listener:
    """What one endpoint string listens on; an unknown type or a malformed string is a
    :class:`ListenerError`.  An endpoint type from a plugin (``systemd:``, ``onion:``)
    cannot be seen into, so it counts as neither local nor TLS."""
    try:
        args, keywords = endpoints._parse(description)
        kind = args[0]
        parser = _PARSERS.get(kind)
        if parser is None:
            endpoints._parseServer(description, None)  # only an unknown type fails
            return _pluginListener(description, kind, keywords)
        bound = inspect.signature(parser).bind(None, *args[1:], **keywords)
    except (ValueError, TypeError, IndexError) as error:
        raise ListenerError(f"--listen {description!r} is not a Twisted endpoint: "
                            f"{error}") from None
    bound.apply_defaults()
    parameters = bound.arguments
    if kind == "unix":
        return Listener(description, kind, local=True, tls=False,
                        where=str(parameters["address"]))
    if wholeNumber(str(parameters["port"]), 65535) is None:
        raise ListenerError(f"--listen {description!r}: the port must be a number")
    interface = str(parameters["interface"])
    return Listener(description, kind, local=_isLoopback(interface), tls=kind == "ssl",
                    where=interface if interface not in ("", "0.0.0.0", "::")
                    else "all interfaces")


def _pluginListener(description: str, kind: str, keywords: dict[str, Any]) -> Listener:
    # A socket systemd made for us in the UNIX domain is as local as our own.
    local = kind == "systemd" and str(keywords.get("domain", "")).upper() == "UNIX"
    return Listener(description, kind, local=local, tls=False, where=f"a {kind} endpoint")


def _isLoopback(interface: str) -> bool:
    if interface.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(interface.partition("%")[0]).is_loopback
    except ValueError:
        return False  # all interfaces (""), or a name we cannot vouch for


def checkListeners(descriptions: Iterable[str], *, users: bool,
                   insecure: bool) -> list[Listener]:
    """The listeners, once each is allowed; else a :class:`ListenerError` naming the first
    that is not and what would allow it."""
    listeners = [listenerOf(description) for description in descriptions]
    for listener in listeners:
        if insecure or listener.local:
            continue
        if not users:
            raise ListenerError(
                f"refusing to listen on {listener.description} ({listener.where}): without "
                f"--users anyone who reaches it acts as admin; listen on loopback, give "
                f"--users FILE, or --insecure")
        if not listener.tls:
            raise ListenerError(
                f"refusing to listen on {listener.description} ({listener.where}): Basic "
                f"credentials would cross the network in clear text; listen with ssl:, on "
                f"loopback, or give --insecure")
    return listeners
