"""The launch settings: the command line merged over the TOML configuration file, checked.

They live apart from ``tap.py`` so that the service tree takes :class:`Settings` without
importing the module that builds it: ``tap`` imports ``service``, never the reverse.
"""

from __future__ import annotations

import re
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from twisted.logger import Logger

from .http.limits import LIMIT_SETTINGS, Limits
from .identity import HostPolicy, parseTrustedProxies
from .identity.addresses import Network
from .identity.listeners import listenerOf
from .migration.peers import Peer, peersOf
from .model.numbers import wholeNumber
from .scheduler.windows import parseTimeOfDay

log = Logger()

DEFAULT_LISTEN = "tcp:8080:interface=127.0.0.1"
_NODE = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: A component's JID is a domain: labels of letters, digits and hyphens.
_JID = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                  r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")


class ConfigError(Exception):
    """An option or configuration value that cannot be used; the message is the one line."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The launch settings after merging the command line over the configuration file."""

    listen: list[str]
    dataDir: Path
    store: str
    baseURL: str | None
    driver: str
    accessLog: str | None = None
    backupAt: time = time(0, 0)
    node: str = "local"
    concurrency: int = 32
    #: Seconds a node holds a request it runs without renewing: how long a dead node's
    #: requests wait before another node takes them over.
    lease: int = 60
    #: The XMPP component connection, when configured: endpoint, JID, secret.
    xmpp: tuple[str, str, str] | None = None
    #: The htpasswd file of the users; None is single-user mode.
    usersFile: Path | None = None
    #: The TOML file, read again with the users for its ``[users.NAME]`` tables.
    configFile: Path | None = None
    #: The operator lifts the listener checks (a trusted network, a TLS proxy in front).
    insecure: bool = False
    #: The Host names served and the base URL's origin, for the door's guards.
    hosts: HostPolicy = field(default_factory=HostPolicy)
    #: The ``--trusted-proxy`` networks, whose forwarding headers are believed.
    trustedProxies: tuple[Network, ...] = ()
    #: Requests without credentials from a compute's own address may introspect it.
    introspection: bool = True
    #: What one client may send and hold: body size, deadlines, connections.
    limits: Limits = field(default_factory=Limits)
    #: How long a signed URL (a download, an upload, an OVA) works, in seconds.
    urlValidity: int = 600
    #: Endpoints serving ``/-/metrics`` alone, without credentials.
    metricsListen: list[str] = field(default_factory=list)
    #: The OCCI endpoints resources may migrate to, with their credentials.
    peers: tuple[Peer, ...] = ()
    #: The options of the driver (``libvirt-uri``...), as given: the driver checks them.
    driverOptions: Mapping[str, str] = field(default_factory=dict)

    @property
    def shared(self) -> bool:
        """Whether the store is one that several nodes serve (PostgreSQL)."""
        return self.store.startswith("postgresql://")

    @classmethod
    def resolve(cls, options: Mapping[str, Any], fromFile: Mapping[str, Any]) -> Settings:
        unknown = set(fromFile) - _FILE_KEYS - LIMIT_SETTINGS
        if unknown:
            raise ConfigError(f"unknown setting(s) in the config file: "
                              f"{', '.join(sorted(unknown))}")
        if "users" in fromFile and not isinstance(fromFile["users"], Mapping):
            raise ConfigError("users in the config file is the [users.NAME] tables; name "
                              "the htpasswd file with users-file")

        def pick(name: str, default: Any) -> Any:
            value = options.get(name)
            if value is None:
                value = fromFile.get(name, default)
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"{name} must be a string")
            return value

        listen = list(options["listen"]) or fromFile.get("listen") or [DEFAULT_LISTEN]
        if isinstance(listen, str):
            listen = [listen]
        if not all(isinstance(item, str) and item for item in listen):
            raise ConfigError("listen must be a list of Twisted endpoint strings")
        dataDir = Path(pick("data", "occi-data")).expanduser()
        store = pick("store", None) or f"sqlite:{dataDir / 'occi.sqlite3'}"
        if not store.startswith(("sqlite:", "postgresql://")):
            raise ConfigError(f"--store must be sqlite:PATH or postgresql://..., not {store!r}")
        baseURL = pick("base-url", None)
        if baseURL is not None:
            parts = urlsplit(baseURL)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
                raise ConfigError(f"--base-url must be an absolute http(s) URL, not {baseURL!r}")
            baseURL = baseURL.rstrip("/")
        try:
            backupAt = parseTimeOfDay(pick("backup-at", "00:00"))
        except ValueError as error:
            raise ConfigError(f"--backup-at: {error}") from None
        node = pick("node", None) or socket.gethostname() or "local"
        if not _NODE.fullmatch(node):
            raise ConfigError(f"--node must be 1-64 letters, digits, '.', '_' or '-', "
                              f"not {node[:70]!r}")
        concurrency = options.get("concurrency") or fromFile.get("concurrency", 32)
        try:
            concurrency = int(concurrency)
        except (TypeError, ValueError):
            raise ConfigError(f"--concurrency must be a whole number, not "
                              f"{str(concurrency)[:40]!r}") from None
        if not 1 <= concurrency <= 1024:
            raise ConfigError(f"--concurrency must be between 1 and 1024, not {concurrency}")
        xmpp = _xmppOf(pick("xmpp-component", None), pick("xmpp-jid", None),
                       _secretOf(pick("xmpp-secret", None), pick("xmpp-secret-file", None),
                                 shown=bool(options.get("xmpp-secret"))))
        usersFile = options.get("users") or pick("users-file", None)
        config = pick("config", None)
        insecure = _flag(options, fromFile, "insecure")
        try:
            hosts = HostPolicy.of(baseURL, _names(options, fromFile, "allowed-host"))
            proxies = parseTrustedProxies(_names(options, fromFile, "trusted-proxy"))
            limits = Limits.resolve(options, fromFile)
            metricsListen = _metricsListeners(_names(options, fromFile, "metrics-listen"),
                                              insecure=insecure)
            peers = peersOf(list(options.get("peer") or ()), fromFile.get("peers", {}))
        except ValueError as error:
            raise ConfigError(str(error)) from None
        urlValidity = _seconds(options, fromFile, "url-validity", default=600, least=1,
                               most=86_400)
        lease = _seconds(options, fromFile, "lease", default=60, least=3, most=3_600)
        driverOptions = {name: pick(name, None) for name in DRIVER_OPTIONS}
        return cls(listen=listen, dataDir=dataDir, store=store, baseURL=baseURL,
                   driver=pick("driver", "simulated"), accessLog=pick("access-log", None),
                   backupAt=backupAt, node=node, concurrency=concurrency, lease=lease,
                   xmpp=xmpp,
                   usersFile=Path(usersFile).expanduser() if usersFile else None,
                   configFile=Path(config) if config else None,
                   insecure=insecure, hosts=hosts, trustedProxies=proxies,
                   introspection=not _flag(options, fromFile, "no-introspection"),
                   limits=limits, urlValidity=urlValidity, metricsListen=metricsListen,
                   peers=peers,
                   driverOptions={name: value for name, value in driverOptions.items()
                                  if value is not None})


#: The keys a config file may hold: the options' names (``users-file`` for ``--users``, as
#: ``[users.NAME]`` tables hold the users' settings).
_FILE_KEYS = frozenset({
    "listen", "data", "store", "base-url", "driver", "access-log", "backup-at", "node",
    "concurrency", "xmpp-component", "xmpp-jid", "xmpp-secret", "xmpp-secret-file",
    "users", "users-file", "insecure", "allowed-host", "trusted-proxy", "no-introspection",
    "url-validity", "metrics-listen", "lease", "libvirt-uri", "libvirt-domain-type",
    "libvirt-images", "libvirt-stop-deadline", "libvirt-stop-after", "peers"})
#: The options of the drivers (the libvirt driver's: the only driver with options of its
#: own), as ``usage.Options`` lines: name, short name, default, help.
DRIVER_OPTION_LINES: list[list[str | None]] = [
    ["libvirt-uri", None, None,
     "--driver libvirt: the hypervisor's URI [default: qemu:///system]"],
    ["libvirt-domain-type", None, None,
     "--driver libvirt: qemu (TCG), kvm, or auto (kvm where /dev/kvm opens) [default: qemu]"],
    ["libvirt-images", None, None,
     "--driver libvirt: the directory of boot images, one os_tpl mixin each "
     "[default: ~/.cache/occi-twisted/images]"],
    ["libvirt-stop-deadline", None, None,
     "--driver libvirt: seconds a graceful stop waits for the guest [default: 60]"],
    ["libvirt-stop-after", None, None,
     "--driver libvirt: what a graceful stop does after its deadline: destroy (power off) "
     "or fail (the request fails, the guest runs on) [default: destroy]"],
]
DRIVER_OPTIONS = tuple(str(line[0]) for line in DRIVER_OPTION_LINES)


def _seconds(options: Mapping[str, Any], fromFile: Mapping[str, Any], name: str, *,
             default: int, least: int, most: int) -> int:
    """A whole number of seconds from ``least`` to ``most``, from the command line or the
    file."""
    given = options.get(name) or fromFile.get(name, default)
    seconds = wholeNumber(str(given), most)
    if seconds is None or seconds < least:
        raise ConfigError(f"--{name} must be a number of seconds from {least} to {most}, "
                          f"not {str(given)[:40]!r}")
    return seconds


def _metricsListeners(descriptions: list[str], *, insecure: bool) -> list[str]:
    """``--metrics-listen`` answers anyone who reaches it: this machine only, unless the
    operator says otherwise (a scraper on a private network) with ``--insecure``."""
    for description in descriptions:
        try:
            local = listenerOf(description).local
        except ValueError as error:
            raise ConfigError(str(error).replace("--listen", "--metrics-listen", 1)) from None
        if not (local or insecure):
            raise ConfigError(f"--metrics-listen {description!r} answers without credentials: "
                              "give a loopback interface (or --insecure)")
    return descriptions


def _flag(options: Mapping[str, Any], fromFile: Mapping[str, Any], name: str) -> bool:
    if options.get(name):
        return True
    value = fromFile.get(name, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{name} in the config file must be true or false")
    return value


def _names(options: Mapping[str, Any], fromFile: Mapping[str, Any], name: str) -> list[str]:
    """A repeatable option: the command line's values, else the file's (a list or one)."""
    values = list(options.get(name) or ()) or fromFile.get(name) or []
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not all(isinstance(each, str) for each in values):
        raise ConfigError(f"{name} must be a list of strings")
    return values


def _secretOf(secret: str | None, secretFile: str | None, *, shown: bool) -> str | None:
    """The XMPP component's secret, from its file (as it should be) or the command line,
    where every user of the machine can read it in the process list."""
    if secret and secretFile:
        raise ConfigError("give --xmpp-secret-file or --xmpp-secret, not both")
    if secretFile:
        try:
            text = Path(secretFile).expanduser().read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or "not UTF-8 text"
            raise ConfigError(f"cannot read the XMPP secret file {secretFile}: "
                              f"{reason}") from None
        if not text:
            raise ConfigError(f"the XMPP secret file {secretFile} is empty")
        return text
    if shown:
        log.warn("--xmpp-secret shows the secret in the process list; put it in a file "
                 "and give --xmpp-secret-file")
    return secret


def _xmppOf(component: str | None, jid: str | None,
            secret: str | None) -> tuple[str, str, str] | None:
    if not (component or jid or secret):
        return None
    if not (component and jid and secret):
        raise ConfigError("--xmpp-component, --xmpp-jid and --xmpp-secret-file go together")
    if not _JID.fullmatch(jid):
        raise ConfigError(f"--xmpp-jid must be a domain name such as "
                          f"pubsub.example.com, not {jid[:70]!r}")
    return (component, jid, secret)


def readConfig(path: str) -> dict[str, Any]:
    """The TOML file named by ``--config``; a file that cannot be read or parsed is a
    :class:`ConfigError`."""
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except OSError as error:
        raise ConfigError(f"cannot read the config file {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"the config file {path} is not valid TOML: {error}") from None
