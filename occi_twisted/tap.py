"""``twistd occi``: command-line and TOML options, and the service they make.

Every mistake an operator can make here (an unknown option, a malformed endpoint, a data
directory that cannot be written) ends the process with one line on standard error and exit
status 1: operators read that line, not a traceback.
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

from twisted.application.service import IService
from twisted.python import usage

from .http.limits import LIMIT_OPTIONS, LIMIT_SETTINGS, Limits
from .scheduler.windows import parseTimeOfDay

DEFAULT_LISTEN = "tcp:8080:interface=127.0.0.1"
_NODE = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: A component's JID is a domain: labels of letters, digits and hyphens.
_JID = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                  r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")


class ConfigError(Exception):
    """An option or configuration value that cannot be used; the message is the one line."""


class Options(usage.Options):
    """The options of ``twistd occi`` (see OCCI.md, "Launch")."""

    synopsis = "[options]"
    longdesc = (
        "Serve OCCI 1.2 over HTTP.  Every option may also be given in a TOML file named by "
        "--config, under the same name (listen is a list there); the command line wins."
    )

    optParameters = [
        ["data", "d", None, "Directory for the embedded store, storage images and backups "
                            "[default: ./occi-data]"],
        ["store", "s", None, "sqlite:PATH (default: inside --data) or postgresql://..."],
        ["base-url", "b", None, "Absolute URL prefix for rendered locations [default: taken "
                                "from each request's Host header]"],
        ["config", "c", None, "A TOML file with any of these options"],
        ["driver", None, None, "The driver plugin that performs actions [default: simulated]"],
        ["access-log", None, None, "Write an access line per request to this file "
                                   "[default: no access log]"],
        ["backup-at", None, None, "Daily backup window, HH:MM[:SS] server local time (TZ "
                                  "honoured) [default: 00:00]"],
        ["node", None, None, "This node's name among the servers sharing a store; stable "
                             "across restarts [default: the host name]"],
        ["concurrency", None, None, "Requests run at once by this node [default: 32]"],
        ["xmpp-component", None, None, "Connect to an XMPP server as a XEP-0114 component at "
                                       "this endpoint (e.g. tcp:localhost:5347) and serve "
                                       "XEP-0060 pubsub [default: off]"],
        ["xmpp-jid", None, None, "The component's JID (e.g. pubsub.example.com)"],
        ["xmpp-secret", None, None, "The component's shared secret"],
        *LIMIT_OPTIONS,
    ]

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self["listen"] = []

    def opt_listen(self, description: str) -> None:
        """A Twisted endpoint string to serve HTTP on (repeatable) [default:
        tcp:8080:interface=127.0.0.1]"""
        self["listen"].append(description)

    opt_l = opt_listen

    def parseOptions(self, options: list[str] | None = None) -> None:
        # twistd answers a usage error with the whole help text before the error; an
        # operator who mistyped one option deserves the one line that says which.
        try:
            super().parseOptions(options)  # type: ignore[no-untyped-call]
        except (usage.UsageError, ConfigError) as error:
            raise SystemExit(f"twistd occi: {error}") from None

    def postOptions(self) -> None:
        fromFile = _readConfig(self["config"]) if self["config"] else {}
        self.settings = Settings.resolve(self, fromFile)


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
    #: The XMPP component connection, when configured: endpoint, JID, secret.
    xmpp: tuple[str, str, str] | None = None
    #: What one client may cost the listener (bodies, slow heads, connections).
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def resolve(cls, options: Mapping[str, Any], fromFile: Mapping[str, Any]) -> Settings:
        unknown = set(fromFile) - {"listen", "data", "store", "base-url", "driver", "access-log",
                                   "backup-at", "node", "concurrency", "xmpp-component",
                                   "xmpp-jid", "xmpp-secret"} - LIMIT_SETTINGS
        if unknown:
            raise ConfigError(f"unknown setting(s) in the config file: "
                              f"{', '.join(sorted(unknown))}")

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
        xmppParts = [pick(f"xmpp-{part}", None) for part in ("component", "jid", "secret")]
        xmpp: tuple[str, str, str] | None = None
        if any(xmppParts):
            component, jid, secret = xmppParts
            if not (component and jid and secret):
                raise ConfigError("--xmpp-component, --xmpp-jid and --xmpp-secret go together")
            if not _JID.fullmatch(jid):
                raise ConfigError(f"--xmpp-jid must be a domain name such as "
                                  f"pubsub.example.com, not {jid[:70]!r}")
            xmpp = (component, jid, secret)
        try:
            limits = Limits.resolve(options, fromFile)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        return cls(listen=listen, dataDir=dataDir, store=store, baseURL=baseURL,
                   driver=pick("driver", "simulated"), accessLog=pick("access-log", None),
                   backupAt=backupAt, node=node, concurrency=concurrency, xmpp=xmpp,
                   limits=limits)


def _readConfig(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except OSError as error:
        raise ConfigError(f"cannot read the config file {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"the config file {path} is not valid TOML: {error}") from None


def makeService(options: Options) -> IService:
    """Build the server's service tree; an unusable setting ends the process with one line."""
    from .service import OCCIService, ServiceError

    try:
        return OCCIService.fromSettings(options.settings)
    except (ServiceError, ConfigError) as error:
        raise SystemExit(f"twistd occi: {error}") from None
