"""A throwaway PostgreSQL cluster for the tests: ``initdb`` and ``pg_ctl`` in a temporary
directory, on a free loopback port, its unix socket in that directory too, ``fsync`` on (what
the store promises is durability).

The binaries come from ``pg_config --bindir``, else Debian's ``/usr/lib/postgresql/*/bin``.
``initdb`` refuses to run as root, so as root the cluster is made and run by the
``postgres`` user (``runuser``), in a directory handed to it.  Without PostgreSQL the tests
that need it fail, saying how to install it: CI installs it (``.ci/run``).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from .conftest import freePort


def binaries() -> Path:
    """The directory of ``initdb`` and ``pg_ctl``; fails the test when there is none."""
    candidates: list[str] = []
    config = shutil.which("pg_config")
    if config is not None:
        found = subprocess.run([config, "--bindir"], check=False, capture_output=True,
                               text=True)
        candidates.append(found.stdout.strip())
    candidates.extend(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True))
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").is_file():
            return Path(candidate)
    pytest.fail("PostgreSQL is not installed (apt-get install postgresql): the PostgreSQL "
                "store's tests need initdb and pg_ctl.")


class Cluster:
    """One cluster: :meth:`start`, :meth:`database` (a new empty one), :meth:`stop`."""

    def __init__(self, directory: Path) -> None:
        self.bin = binaries()
        self.directory = directory
        self.data = directory / "data"
        self.port = freePort()
        self.user = "occi"
        self._asRoot = os.geteuid() == 0

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._asRoot else []
        done = subprocess.run([*prefix, *command], check=False, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{command[0]} failed: {done.stdout}{done.stderr}")

    def start(self) -> Cluster:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._asRoot:
            shutil.chown(self.directory, "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", self.user,
                  "-A", "trust", "-E", "UTF8", "--no-instructions")
        options = (f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
                   " -c fsync=on -c synchronous_commit=on -c max_connections=200")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-s",
                  "-l", str(self.directory / "postgres.log"), "-o", options, "start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url(), autocommit=True)

    def database(self) -> str:
        """A new, empty database; its URL."""
        name = "t_" + uuid.uuid4().hex[:12]
        with self.admin() as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop(self, url: str) -> None:
        with self.admin() as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {url.rpartition('/')[2]} WITH (FORCE)")

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-s", "-m", "fast",
                  "stop")
