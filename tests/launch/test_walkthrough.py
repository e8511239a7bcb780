"""The walkthrough (shared/seeds), top to bottom, with a plain HTTP client against the real
server: every example request, as written, gets the answer the walkthrough describes (its
"201 Accepted" for requests is 202)."""

from __future__ import annotations

import http.client
import socket
from pathlib import Path

from ..conftest import RunningServer

EXAMPLE = "b10fa926-41a6-4125-ae94-bfad2670ca87"


def send(port: int, raw: bytes) -> tuple[int, http.client.HTTPMessage, bytes]:
    """Send a request exactly as written (request line, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(raw)
        method = raw.split(b" ", 1)[0].decode()
        response = http.client.HTTPResponse(connection, method=method)
        response.begin()
        body = response.read()
        return response.status, response.msg, body


def request(text: str, body: str = "") -> bytes:
    """The walkthrough's request text (CRLF line ends, Connection: close added)."""
    lines = [line.strip() for line in text.strip().splitlines()]
    return ("\r\n".join([*lines, "Connection: close", "", ""]) + body).encode()


def test_the_walkthrough(tmp_path: Path) -> None:
    server = RunningServer(tmp_path / "occi-data", "--allowed-host", "example.com").start()
    port = server.port
    try:
        # Connecting: one end-point, and everything is linked from it.
        status, headers, body = send(port, request("GET / HTTP/1.1\nHost: example.com"))
        assert status == 200
        links = headers.get_all("Link") or []
        for place in ("/-/", "/compute/", "/network/", "/storage/", "/templates/", "/log/"):
            assert any(f"<http://example.com{place}>" in link for link in links), place

        # Create: POST an HTML form to the collection, exactly as written.
        status, headers, _ = send(port, request("""
            POST /compute HTTP/1.1
            Host: example.com
            Content-Length: 35
            Content-Type: application/x-www-form-urlencoded
        """, "compute.cores=2&compute.memory=2048"))
        assert status == 201
        created = headers["Location"]
        assert created.startswith("http://example.com/compute/")

        # Templates: GET one (small), POST it back to its collection.
        status, _, template = send(port, request(
            "GET /templates/small HTTP/1.1\nHost: example.com\nAccept: text/plain"))
        assert status == 200
        status, _, _ = send(port, request(f"""
            POST /compute/ HTTP/1.1
            Host: example.com
            Content-Type: text/plain
            Content-Length: {len(template)}
        """, template.decode()))
        assert status == 201

        # Retrieve: the example's own id, made first with PUT (client-chosen ids are kept).
        status, _, _ = send(port, request(f"""
            PUT /compute/{EXAMPLE} HTTP/1.1
            Host: example.com
            Content-Type: application/x-www-form-urlencoded
            Content-Length: 15
        """, "compute.cores=2"))
        assert status == 201
        status, headers, body = send(port, request(f"""
            GET /compute/{EXAMPLE} HTTP/1.1
            Host: example.com
        """))
        # 300 Multiple Choices: the representations, HTML suggested in Location.
        assert status == 300
        assert headers["Location"] == f"http://example.com/compute/{EXAMPLE}?format=html"
        alternates = headers.get_all("Link") or []
        assert any('type="text/html"' in link for link in alternates)
        assert any('type="application/occi+json"' in link for link in alternates)
        assert f"/compute/{EXAMPLE}?format=text" in body.decode()
        status, headers, body = send(port, request(f"HEAD /compute/{EXAMPLE} HTTP/1.1\n"
                                                   "Host: example.com"))
        assert status == 300 and body == b"" and headers["Location"]
        status, headers, page = send(port, request(
            f"GET /compute/{EXAMPLE}?format=html HTTP/1.1\nHost: example.com"))
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert b"<form" in page

        # Collections: by reference (a list of links) and by value (Atom).
        status, _, listed = send(port, request(
            "GET /compute/ HTTP/1.1\nHost: example.com\nAccept: text/uri-list"))
        assert status == 200 and len(listed.split()) == 3
        status, headers, feed = send(port, request(
            "GET /compute/ HTTP/1.1\nHost: example.com\nAccept: application/atom+xml"))
        assert status == 200 and feed.count(b"<entry>") == 3

        # Update: GET, modify, PUT back where it was found.
        status, _, text = send(port, request(
            f"GET /compute/{EXAMPLE} HTTP/1.1\nHost: example.com\nAccept: text/plain"))
        changed = text.decode().replace("occi.compute.cores=2", "occi.compute.cores=4")
        status, _, _ = send(port, request(f"""
            PUT /compute/{EXAMPLE} HTTP/1.1
            Host: example.com
            Content-Type: text/plain
            Content-Length: {len(changed.encode())}
        """, changed))
        assert status == 200
        status, _, text = send(port, request(
            f"GET /compute/{EXAMPLE} HTTP/1.1\nHost: example.com\nAccept: text/plain"))
        assert b"occi.compute.cores=4" in text

        # Sub-resource collections: the log (written by the server), notes (by users).
        status, _, log = send(port, request(
            f"GET /compute/{EXAMPLE}/log/ HTTP/1.1\nHost: example.com"))
        assert status == 200 and log.count(b"<entry>") == 2  # created, updated
        entryId = log.split(b"<id>urn:uuid:")[1].split(b"<")[0].decode()
        status, _, entry = send(port, request(
            f"GET /compute/{EXAMPLE}/log/{entryId} HTTP/1.1\nHost: example.com"))
        assert status == 200 and entryId.encode() in entry
        status, headers, _ = send(port, request(f"""
            POST /compute/{EXAMPLE}/notes/ HTTP/1.1
            Host: example.com
            Content-Type: text/plain
            Content-Length: 9
        """, "Installed"))
        assert status == 201 and f"/compute/{EXAMPLE}/notes/" in headers["Location"]

        # Requests: state changes are requests, handled asynchronously.
        status, _, _ = send(port, request(f"POST /compute/{EXAMPLE}?action=start HTTP/1.1\n"
                                          "Host: example.com\nContent-Length: 0"))
        assert status == 200
        status, headers, _ = send(port, request(f"""
            POST /compute/{EXAMPLE}/requests HTTP/1.1
            Host: example.com
            Content-Length: 27
            Content-Type: application/x-www-form-urlencoded
        """, "state=shutdown&type=acpioff"))
        assert status == 202
        assert f"/compute/{EXAMPLE}/requests/" in headers["Location"]

        # Delete, then 404.
        status, _, _ = send(port, request(f"""
            DELETE /compute/{EXAMPLE} HTTP/1.1
            Host: example.com
        """))
        assert status == 200
        status, _, _ = send(port, request(f"GET /compute/{EXAMPLE} HTTP/1.1\n"
                                          "Host: example.com\nAccept: text/plain"))
        assert status == 404
    finally:
        server.stop()
