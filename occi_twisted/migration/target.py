"""Which endpoint a migration goes to: one of the peers, spelled as the operator did."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from ..model import Value
from ..model.errors import Conflict


def checkTarget(peers: Collection[str], attributes: Mapping[str, Value]) -> str:
    """The peer's URL a migration's ``target`` names; Conflict, naming the peers, for any
    other (the server connects to no URL a client made up)."""
    target = str(attributes.get("target", "")).strip().rstrip("/")
    if target in peers:
        return target
    if not peers:
        raise Conflict("This server has no peers to migrate to: its operator names them "
                       "with --peer.")
    raise Conflict(f"The target {target[:100]!r} is not a peer of this server; migrate to "
                   f"one of: {', '.join(sorted(peers))}.")
