"""The command line of ``occi``: subcommands (``occi list compute``), with the connection
options before or after the subcommand alike."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from .. import __version__

DESCRIPTION = """An OCCI client for occi-twisted servers (and rOCCI-cli's flags: occi
--endpoint URL --action list --resource compute).  Endpoint and credentials come from the
options, then OCCI_ENDPOINT, OCCI_USER and OCCI_PASSWORD, then ~/.netrc.  With an XMPP
account (--xmpp-jid, or OCCI_XMPP_JID), follow and events receive the server's events as
they happen.  Exit status: 0 done, 1 the server refused or the request failed, 2 usage."""


def connectionOptions(parser: argparse.ArgumentParser, default: object) -> None:
    """The options every subcommand takes, on ``parser``; ``default`` is SUPPRESS on the
    subcommands, so that one given before the subcommand is not reset after it."""
    parser.add_argument("-e", "--endpoint", default=default,
                        help="the server's URL [default: $OCCI_ENDPOINT, else "
                             "http://127.0.0.1:8080/]")
    parser.add_argument("-u", "--user", "--username", dest="user", default=default,
                        help="Basic user [default: $OCCI_USER, else ~/.netrc]")
    parser.add_argument("-p", "--password", default=default,
                        help="Basic password [default: $OCCI_PASSWORD, else ~/.netrc]")
    parser.add_argument("--ca-file", default=default,
                        help="trust the CA certificates of this PEM file (a private CA) "
                             "instead of the system's")
    parser.add_argument("--json", action="store_true", default=default,
                        help="print JSON for scripts instead of tables")
    xmpp = parser.add_argument_group(
        "events over XMPP", "follow requests (and stream events) by the server's XMPP "
        "notifications instead of long polls")
    xmpp.add_argument("--xmpp-jid", default=default, metavar="JID",
                      help="the XMPP account (user@domain) [default: $OCCI_XMPP_JID]")
    xmpp.add_argument("--xmpp-password-file", default=default, metavar="FILE",
                      help="a file whose first line is its password "
                           "[default: $OCCI_XMPP_PASSWORD]")
    xmpp.add_argument("--xmpp-service", default=default, metavar="JID",
                      help="the server's pubsub service, its --xmpp-jid "
                           "[default: $OCCI_XMPP_SERVICE]")
    xmpp.add_argument("--xmpp-server", default=default, metavar="HOST:PORT",
                      help="where the XMPP server takes clients [default: "
                           "$OCCI_XMPP_SERVER, else the JID's domain, port 5222]")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="occi", description=DESCRIPTION, allow_abbrev=False)
    top.add_argument("--version", action="version", version=f"occi {__version__}")
    connectionOptions(top, None)
    common = argparse.ArgumentParser(add_help=False)
    connectionOptions(common, argparse.SUPPRESS)
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=text, description=text, parents=[common],
                                   allow_abbrev=False)

    command("list", "list the entities of a kind (or a mixin)").add_argument(
        "kind", metavar="KIND", help="compute, storage, network, ... or a mixin")
    command("show", "show an entity or a request").add_argument("url", metavar="URL")
    made = command("create", "create an entity; prints its location")
    made.add_argument("kind", metavar="KIND")
    made.add_argument("attributes", nargs="*", metavar="key=value")
    made.add_argument("--mixin", "-M", action="append", metavar="MIXIN",
                      help="a mixin by identifier, SHORT_SCHEME#TERM or term (repeatable)")
    changed = command("update", "change some attributes of an entity")
    changed.add_argument("url", metavar="URL")
    changed.add_argument("attributes", nargs="+", metavar="key=value")
    command("delete", "delete an entity").add_argument("url", metavar="URL")
    acting = command("action", "trigger an action on an entity")
    acting.add_argument("url", metavar="URL")
    acting.add_argument("name", metavar="NAME", help="the action's term or identifier")
    acting.add_argument("attributes", nargs="*", metavar="key=value")
    mode = acting.add_mutually_exclusive_group()
    mode.add_argument("--wait", dest="mode", action="store_const", const="wait",
                      help="wait until the request ends")
    mode.add_argument("--follow", dest="mode", action="store_const", const="follow",
                      help="show the request's progress until it ends")
    command("follow", "show a request's progress until it ends").add_argument(
        "url", metavar="REQUEST_URL")
    down = command("download", "save a storage's image (resumes a partial FILE)")
    down.add_argument("url", metavar="STORAGE")
    down.add_argument("file", metavar="FILE")
    up = command("upload", "make FILE the image of an offline storage")
    up.add_argument("file", metavar="FILE")
    up.add_argument("url", metavar="STORAGE")
    ova = command("export-ova", "save a compute and its disks as an OVA archive")
    ova.add_argument("url", metavar="COMPUTE")
    ova.add_argument("file", metavar="FILE")
    log = command("events", "the newest changes, of everything or of URL")
    log.add_argument("url", metavar="URL", nargs="?")
    log.add_argument("--number", "-n", type=int, default=50, help="how many [default: 50]")
    return top


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The subcommand and its arguments (argparse exits with 2 on a usage error)."""
    return parser().parse_args(list(argv))
