"""The baseline for bench/http_bench.py: a bare Klein app answering fixed bytes.

It serves the very bytes the OCCI server answered for the same requests (captured by the
benchmark before it starts this process), so the ratio measures exactly what the OCCI server
adds: parsing, negotiation, the store, the model and rendering.
"""

from __future__ import annotations

import json
import sys

from klein import Klein
from twisted.internet import reactor
from twisted.web.server import Site

app = Klein()
ANSWERS: dict[str, dict[str, str]] = {}


@app.route("/compute/<entityId>", methods=["GET"])
def entity(request: object, entityId: str) -> bytes:
    return _answer(request, "entity")


@app.route("/compute/", methods=["GET"])
def collection(request: object) -> bytes:
    return _answer(request, "collection")


@app.route("/compute/", methods=["POST"])
def create(request: object) -> bytes:
    request.content.read()  # type: ignore[attr-defined]
    request.setResponseCode(201)  # type: ignore[attr-defined]
    return _answer(request, "create")


def _answer(request: object, name: str) -> bytes:
    answer = ANSWERS[name]
    body = answer["body"].encode()
    request.setHeader(b"Content-Type", answer["type"].encode())  # type: ignore[attr-defined]
    request.setHeader(b"Content-Length", str(len(body)).encode())  # type: ignore[attr-defined]
    return body


if __name__ == "__main__":
    # bare_klein.py PORT ANSWERS.json [KEY.pem CERT.pem]: over TLS when a key is given.
    port, answersFile = int(sys.argv[1]), sys.argv[2]
    with open(answersFile) as file:
        ANSWERS.update(json.load(file))
    site = Site(app.resource())
    if len(sys.argv) > 4:
        from twisted.internet.ssl import DefaultOpenSSLContextFactory

        tls = DefaultOpenSSLContextFactory(sys.argv[3], sys.argv[4])
        reactor.listenSSL(port, site, tls, interface="127.0.0.1")  # type: ignore[attr-defined]
    else:
        reactor.listenTCP(port, site, interface="127.0.0.1")  # type: ignore[attr-defined]
    reactor.run()  # type: ignore[attr-defined]
