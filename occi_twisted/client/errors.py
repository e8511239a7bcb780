"""What ends a command early, and with which exit status.

Scripts tell outcomes apart by status alone: 0 done, 1 the server refused or the request
failed, 2 the command line was wrong.  The message is one line on standard error.
"""

from __future__ import annotations


class ClientError(Exception):
    """The server refused, could not be reached, or the request ended without success."""

    status = 1


class UsageError(ClientError):
    """The command line cannot be carried out as written."""

    status = 2


class XMPPUnavailable(Exception):
    """Events could not be received over XMPP (no connection, refused, lost): the client
    says so in one line and follows by long poll instead."""
