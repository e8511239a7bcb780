"""Where ``occi`` finds its endpoint and credentials -- options, then ``OCCI_ENDPOINT``,
``OCCI_USER`` and ``OCCI_PASSWORD``, then ``~/.netrc`` (``HOME`` a directory of the test's)
-- and TLS verified against a CA the test makes, against a real ``twistd -n occi`` with users
over TLS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ..launch.test_tls import ALICE, TLSServer
from .support import occi, ok, refused


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSServer]:
    server = TLSServer(tmp_path_factory.mktemp("tls"))
    yield server
    server.stop()


def _netrc(home: Path, password: str) -> None:
    netrc = home / ".netrc"
    netrc.write_text(f"machine localhost\n  login {ALICE[0]}\n  password {password}\n")
    netrc.chmod(0o600)


def test_tls_is_verified_against_the_ca_given(tls: TLSServer, tmp_path: Path) -> None:
    untrusted = refused(occi(tmp_path, "list", "compute", "-u", ALICE[0], "-p", ALICE[1],
                             endpoint=tls.url))
    assert "not trusted" in untrusted and "--ca-file" in untrusted
    listed = ok(occi(tmp_path, "list", "compute", "--ca-file", str(tls.cert),
                     "-u", ALICE[0], "-p", ALICE[1], endpoint=tls.url))
    assert listed.split() == ["LOCATION", "TITLE", "STATE"]
    assert refused(occi(tmp_path, "list", "compute", "--ca-file", str(tmp_path / "none.pem"),
                        endpoint=tls.url), 2).endswith("is not a readable file")


def test_credentials_from_options_environment_and_netrc(tls: TLSServer,
                                                        tmp_path: Path) -> None:
    ca = ("--ca-file", str(tls.cert))
    # None at all: the server's 401, one line.
    assert refused(occi(tmp_path, "list", "compute", *ca, endpoint=tls.url)).startswith(
        "occi: 401 ")
    # The environment, endpoint included.
    ok(occi(tmp_path, "list", "compute", *ca, OCCI_ENDPOINT=tls.url, OCCI_USER=ALICE[0],
            OCCI_PASSWORD=ALICE[1]))
    # ~/.netrc, found by the endpoint's host name.
    _netrc(tmp_path, ALICE[1])
    made = ok(occi(tmp_path, "create", "compute", "title=from netrc", *ca,
                   endpoint=tls.url)).strip()
    assert made.startswith(f"{tls.url}/compute/")
    # Options win over the environment, which wins over ~/.netrc.
    _netrc(tmp_path, "queen-of-hearts")
    assert refused(occi(tmp_path, "show", made, *ca, endpoint=tls.url)).startswith(
        "occi: 401 ")
    ok(occi(tmp_path, "show", made, *ca, OCCI_PASSWORD=ALICE[1], endpoint=tls.url))
    ok(occi(tmp_path, "show", made, *ca, "--password", ALICE[1],
            OCCI_PASSWORD="queen-of-hearts", endpoint=tls.url))
    # A user named with no password anywhere is a usage error.
    (tmp_path / ".netrc").unlink()
    lonely = refused(occi(tmp_path, "show", made, *ca, "-u", "carol", endpoint=tls.url), 2)
    assert "no password for carol" in lonely


def test_a_netrc_others_can_read_is_refused(tls: TLSServer, tmp_path: Path) -> None:
    _netrc(tmp_path, ALICE[1])
    (tmp_path / ".netrc").chmod(0o644)
    line = refused(occi(tmp_path, "list", "compute", "--ca-file", str(tls.cert),
                        endpoint=tls.url), 2)
    assert line.startswith(f"occi: cannot read {tmp_path / '.netrc'}")
