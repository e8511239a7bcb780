"""The request-body limit is one setting, ``--max-body``, followed wherever a body is read:
by the listener (declared lengths and chunked bodies), by the HTTP layer that hands bodies
to the rooms, and so by every rendering -- none has a size limit of its own.  Against real
``twistd occi`` processes: one with a small limit, one with a limit above the old fixed
1 MiB (HTTP layer) and 2 MiB (renderings)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import pytest

from ..conftest import RunningServer

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
KiB, MiB = 1024, 1024 * 1024
SMALL = 8 * KiB


def _server(factory: pytest.TempPathFactory, maxBody: str) -> Iterator[RunningServer]:
    running = RunningServer(factory.mktemp("body-limit") / "occi-data", "--max-body", maxBody)
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from _server(tmp_path_factory, "8K")


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from _server(tmp_path_factory, "3M")


def jsonCompute(size: int) -> bytes:
    """A compute in JSON, padded with blanks to ``size`` bytes."""
    body = json.dumps({"kind": f"{INFRA}compute",
                       "attributes": {"occi.compute.cores": 2}}).encode()
    return body + b" " * (size - len(body))


def textCompute(size: int) -> bytes:
    """A compute in text/plain, padded with lines of blanks to ``size`` bytes."""
    body = (f'Category: compute; scheme="{INFRA}"; class="kind"\n'
            "X-OCCI-Attribute: occi.compute.cores=2\n").encode()
    blanks = b" " * (200 * KiB - 1) + b"\n"
    padding = blanks * ((size - len(body)) // len(blanks))
    return body + padding + b" " * (size - len(body) - len(padding))


def formCompute(size: int) -> bytes:
    body = b"kind=compute&compute.cores=2"
    return body + b"&" * (size - len(body))


def send(server: RunningServer, method: str, path: str, body: bytes, contentType: str, *,
         chunked: bool = False) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    headers = {"Content-Type": contentType, "Accept": "text/plain"}
    try:
        if chunked:
            parts = (body[at:at + 4096] for at in range(0, len(body), 4096))
            connection.request(method, path, parts, headers, encode_chunked=True)
        else:
            connection.request(method, path, body, headers)
        answer = connection.getresponse()
        return answer.status, answer.read().decode("utf-8", "replace")
    except (BrokenPipeError, ConnectionResetError):
        # Refused before the client finished sending: the answer was written first.
        answer = connection.getresponse()
        return answer.status, answer.read().decode("utf-8", "replace")
    finally:
        connection.close()


@pytest.mark.parametrize("chunked", [False, True])
def test_a_small_max_body_is_the_limit_of_every_body(small: RunningServer,
                                                     chunked: bool) -> None:
    assert send(small, "POST", "/compute/", jsonCompute(SMALL - 100), "application/json",
                chunked=chunked)[0] == 201
    status, text = send(small, "POST", "/compute/", jsonCompute(SMALL + 100),
                        "application/json", chunked=chunked)
    assert (status, f"at most {SMALL} bytes" in text) == (413, True), text


def test_a_small_max_body_bounds_notes_too(small: RunningServer) -> None:
    made = send(small, "PUT", "/compute/noted", textCompute(KiB), "text/plain")
    assert made[0] == 201, made
    assert send(small, "PUT", "/compute/noted/notes/n", b"x" * (SMALL + 1),
                "text/plain")[0] == 413
    assert send(small, "PUT", "/compute/noted/notes/n", b"x" * (SMALL - 1),
                "text/plain")[0] == 201


@pytest.mark.parametrize(("contentType", "made"), [
    ("application/json", jsonCompute), ("application/occi+json", jsonCompute),
    ("text/plain", textCompute), ("application/x-www-form-urlencoded", formCompute)])
@pytest.mark.parametrize("size", [1 * MiB + MiB // 2, 2 * MiB + MiB // 2])
def test_a_large_max_body_lets_every_rendering_read_up_to_it(
        large: RunningServer, contentType: str, made: object, size: int) -> None:
    assert callable(made)
    status, text = send(large, "POST", "/compute/", made(size), contentType)
    assert status == 201, text[:300]


def test_beyond_a_large_max_body_is_413(large: RunningServer) -> None:
    status, text = send(large, "POST", "/compute/", jsonCompute(3 * MiB + 1),
                        "application/json")
    assert (status, f"at most {3 * MiB} bytes" in text) == (413, True), text
