"""``occi``: parse the command line, run one command on the reactor, exit with its status.

Only this module names the global reactor (``task.react`` hands it over): the commands,
the session and the follower take it as an argument, as the server's rooms do.
"""

from __future__ import annotations

import os
import signal
import sys
from argparse import Namespace
from collections.abc import Sequence
from types import FrameType
from typing import Any

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.task import react

from . import arguments, rocci
from .commands import COMMANDS, Command, Context
from .config import Connection, XMPPAccount, connectionFrom, xmppFrom
from .errors import ClientError, UsageError
from .notices import Notices
from .notifications import XMPPNotices
from .session import Session


def main(argv: Sequence[str] | None = None) -> None:
    """The console script: exits 0 when done, 1 when the server refused or the request
    failed, 2 on a usage error."""
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        command, args, connection, asJSON = prepare(words)
    except UsageError as problem:
        sys.stderr.write(f"occi: {problem}\n")
        raise SystemExit(problem.status) from None
    react(_run, (command, args, connection, asJSON))


def prepare(words: list[str]) -> tuple[Command, Namespace, Connection, bool]:
    """The command the words ask for, its arguments, the connection and the output form
    (the XMPP account, if any, is read when the command runs, from ``args``)."""
    if rocci.isRocci(words):
        args = rocci.parse(words)
        caFile = args.ca_file or args.ca_path
        connection = connectionFrom(args.endpoint, args.username, args.password, caFile,
                                    anonymous=args.auth == "none")
        return rocci.run, args, connection, args.output_format.startswith("json")
    args = arguments.parse(words)
    connection = connectionFrom(args.endpoint, args.user, args.password, args.ca_file)
    args.xmpp = xmppFrom(args.xmpp_jid, args.xmpp_password_file, args.xmpp_service,
                         args.xmpp_server)
    return COMMANDS[args.command], args, connection, bool(args.json)


def _notices(reactor: Any, args: Namespace, connection: Connection) -> Notices | None:
    """Events over XMPP, when an account is configured (only then is wokkel imported)."""
    account: XMPPAccount | None = getattr(args, "xmpp", None)
    if account is None:
        return None
    return XMPPNotices(reactor, account, connection.caFile)


def _run(reactor: Any, command: Command, args: Namespace, connection: Connection,
         asJSON: bool) -> Deferred[None]:
    session = Session(reactor, connection)
    context = Context(session, reactor, asJSON, notices=_notices(reactor, args, connection))
    running: Deferred[None] = Deferred.fromCoroutine(command(context, args))

    def interrupted(number: int, frame: FrameType | None) -> None:
        reactor.callFromThread(running.cancel)

    signal.signal(signal.SIGINT, interrupted)

    async def finished() -> None:
        try:
            await running
        except CancelledError:
            sys.stderr.write("occi: interrupted\n")
            raise SystemExit(1) from None
        except ClientError as problem:
            sys.stderr.write(f"occi: {problem}\n")
            raise SystemExit(problem.status) from None
        except BrokenPipeError:
            # The reader went away (``occi list compute | head``): nothing more to say.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise SystemExit(1) from None
        finally:
            await session.close()

    return Deferred.fromCoroutine(finished())
