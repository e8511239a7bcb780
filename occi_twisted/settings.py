"""The launch settings: the command line merged over the TOML configuration file, checked.

They live apart from ``tap.py`` so that the service tree takes :class:`Settings` without
importing the module that builds it: ``tap`` imports ``service``, never the reverse.
"""

from __future__ import annotations

import re
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .scheduler.windows import parseTimeOfDay

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
    #: The XMPP component connection, when configured: endpoint, JID, secret.
    xmpp: tuple[str, str, str] | None = None

    @classmethod
    def resolve(cls, options: Mapping[str, Any], fromFile: Mapping[str, Any]) -> Settings:
        unknown = set(fromFile) - {"listen", "data", "store", "base-url", "driver", "access-log",
                                   "backup-at", "node", "concurrency", "xmpp-component",
                                   "xmpp-jid", "xmpp-secret"}
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
        return cls(listen=listen, dataDir=dataDir, store=store, baseURL=baseURL,
                   driver=pick("driver", "simulated"), accessLog=pick("access-log", None),
                   backupAt=backupAt, node=node, concurrency=concurrency, xmpp=xmpp)


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
