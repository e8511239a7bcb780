"""Two real servers on one PostgreSQL database serve the same cloud."""

from __future__ import annotations

from pathlib import Path

from ..conftest import RunningServer, call

COMPUTE = ('Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; '
           'class="kind"\nX-OCCI-Attribute: occi.compute.hostname="shared"\n')



def test_what_one_node_creates_the_other_serves(tmp_path: Path, database: str) -> None:
    nodes = [RunningServer(tmp_path / f"node-{name}", "--store", database, "--node", name)
             for name in ("a", "b")]
    try:
        for node in nodes:
            node.start()
        status, headers, _ = call(nodes[0].port, "POST", "/compute/", COMPUTE,
                                  {"Content-Type": "text/plain", "Accept": "text/plain"})
        assert status == 201
        location = headers["location"]
        path = location[location.index("/compute/"):]
        status, _, body = call(nodes[1].port, "GET", path, headers={"Accept": "text/plain"})
        assert status == 200
        assert b'occi.compute.hostname="shared"' in body
    finally:
        for node in nodes:
            node.stop()
