"""``twistd occi``: the command line, and the service it makes.

What the options mean and how they are checked is :mod:`occi_twisted.settings`; this module
only parses them and hands the result to :mod:`occi_twisted.service`, which never imports it.

Every mistake an operator can make here (an unknown option, a malformed endpoint, a data
directory that cannot be written) ends the process with one line on standard error and exit
status 1: operators read that line, not a traceback.
"""

from __future__ import annotations

from twisted.application.service import IService
from twisted.python import usage

from .http.limits import LIMIT_OPTIONS
from .settings import DEFAULT_LISTEN, DRIVER_OPTION_LINES, ConfigError, Settings, readConfig


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
        ["lease", None, None, "Seconds a node holds a running request between renewals; a "
                              "dead node's requests are taken over after it [default: 60]"],
        ["url-validity", None, None, "Seconds a signed URL of a file (an image, an OVA) "
                                     "works [default: 600]"],
        ["xmpp-component", None, None, "Connect to an XMPP server as a XEP-0114 component at "
                                       "this endpoint (e.g. tcp:localhost:5347) and serve "
                                       "XEP-0060 pubsub [default: off]"],
        ["xmpp-jid", None, None, "The component's JID (e.g. pubsub.example.com)"],
        ["xmpp-secret-file", None, None, "A file holding the component's shared secret"],
        ["xmpp-secret", None, None, "The component's shared secret (visible in the process "
                                    "list: prefer --xmpp-secret-file)"],
        ["users", None, None, "An htpasswd file of bcrypt lines (htpasswd -B); roles, JIDs "
                              "and quotas in the config's [users.NAME]; reloaded on SIGHUP "
                              "[default: single-user mode, loopback only]"],
        *DRIVER_OPTION_LINES,
        *LIMIT_OPTIONS,
    ]

    optFlags = [
        ["insecure", None, "Listen beyond loopback without users, or serve Basic "
                           "credentials over plain TCP"],
        ["no-introspection", None, "Refuse requests without credentials even from a "
                                   "compute's own address"],
    ]

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self["listen"] = []
        self["allowed-host"] = []
        self["trusted-proxy"] = []
        self["metrics-listen"] = []
        self["peer"] = []

    def opt_allowed_host(self, name: str) -> None:
        """A Host header value served besides --base-url's host and loopback (repeatable)"""
        self["allowed-host"].append(name)

    def opt_trusted_proxy(self, cidr: str) -> None:
        """A proxy (address or network) whose Forwarded headers are believed (repeatable)"""
        self["trusted-proxy"].append(cidr)

    def opt_metrics_listen(self, description: str) -> None:
        """A Twisted endpoint string serving /-/metrics alone, without credentials
        (repeatable; loopback unless --insecure) [default: none]"""
        self["metrics-listen"].append(description)

    def opt_peer(self, url: str) -> None:
        """An OCCI endpoint resources may migrate to (repeatable; credentials in the
        config's [peers."URL"] tables) [default: none]"""
        self["peer"].append(url)

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
        fromFile = readConfig(self["config"]) if self["config"] else {}
        self.settings = Settings.resolve(self, fromFile)


def makeService(options: Options) -> IService:
    """Build the server's service tree; an unusable setting ends the process with one line."""
    from .identity import ListenerError, UsersError
    from .service import OCCIService, ServiceError

    try:
        return OCCIService.fromSettings(options.settings)
    except (ServiceError, ConfigError, ListenerError, UsersError) as error:
        raise SystemExit(f"twistd occi: {error}") from None


__all__ = ["DEFAULT_LISTEN", "ConfigError", "Options", "Settings", "makeService"]
