"""A PostgreSQL server of the test's own (initdb, run as the `postgres` user), to stop and
start again under a running linespeed; the machine's shared server is never restarted."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), Path("/usr/bin"))


class OwnPostgres:
    """A PostgreSQL cluster in a folder of its own, on a free loopback port, trust auth."""

    def __init__(self, folder: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.folder = folder
        self.data = folder / "data"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *command: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *command],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def create(self) -> None:
        """Make the cluster (trust authentication, no fsync: a test's data)."""
        self._as_postgres(
            str(BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-N"
        )

    def start(self) -> None:
        """Start the server and wait until it takes connections."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"),
            "-o", options, "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server at once (fast shutdown: open connections are cut)."""
        self._as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


@contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    """A started PostgreSQL of the test's own; stopped and removed after."""
    if os.geteuid() != 0 or shutil.which("runuser") is None or not (BIN / "initdb").exists():
        pytest.skip("a PostgreSQL of the test's own needs root, runuser and initdb")
    folder = Path(tempfile.mkdtemp(prefix="linespeed-pg-"))
    shutil.chown(folder, "postgres", "postgres")
    server = OwnPostgres(folder)
    server.create()
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
