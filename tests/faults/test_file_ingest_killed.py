"""File ingest killed with SIGKILL at random points, 50 times: nothing reported is lost.

Each trial ingests a file of a few thousand events in small batches in a real process that
reports every batch as it commits, kills it at a random moment, and checks that every event
reported accepted is stored exactly once, that what is stored is a prefix of the file (batches
are all or nothing), and that the projections equal a rebuild from the event log; then it
ingests the file again and checks the store is complete, each event once.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from linespeed.events.codec import encode_event
from linespeed.ingest.core import Ingestor
from linespeed.ingest.files import ingest_files
from linespeed.plant.model import Plant
from linespeed.sim.example import ExampleSettings, example_events
from linespeed.store.engine import connect
from linespeed.store.rebuild import rebuild
from linespeed.store.schema import events
from tests.conftest import make_store, snapshot

TRIALS = 50
CARS = 20
BATCH = 50
HARNESS = Path(__file__).with_name("reporting_ingest.py")


def _stored_ids(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(select(events.c.event_id).order_by(events.c.seq)).scalars())


def _count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(events)).scalar_one())


class Ingests:
    """Real ingest processes, forked from one that has loaded linespeed already."""

    def __init__(self) -> None:
        self.server = subprocess.Popen(
            [sys.executable, str(HARNESS)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )

    def run(
        self, db_url: str, path: Path, report: Path, kill_after_s: float | None
    ) -> tuple[list[str], bool, float]:
        """Ingest `path`; SIGKILL it `kill_after_s` after it is ready (None: let it end).

        Returns the ids it reported accepted, whether it finished, and its seconds once ready.
        """
        assert self.server.stdin is not None and self.server.stdout is not None
        self.server.stdin.write(f"{db_url} {path} {BATCH} {report}\n".encode())
        self.server.stdin.flush()
        pid = int(self.server.stdout.readline().split()[1])
        deadline = time.monotonic() + 30
        while not (report.exists() and report.read_bytes().startswith(b"ready\n")):
            assert time.monotonic() < deadline, "the ingest process never got ready"
            time.sleep(0.001)
        ready_at = time.monotonic()
        if kill_after_s is not None:
            time.sleep(kill_after_s)
            # it may have finished already (this run was quicker than the calibration)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        assert self.server.stdout.readline().startswith(b"exit ")
        ran_s = time.monotonic() - ready_at
        lines = report.read_bytes().split(b"\n")
        # the last piece has no newline: cut short by the kill, so never reported
        reported = [i.decode() for line in lines[1:-1] if line != b"done" for i in line.split()]
        return reported, b"done" in lines, ran_s

    def close(self) -> None:
        """Stop the forking process."""
        assert self.server.stdin is not None and self.server.stdout is not None
        self.server.stdin.close()
        self.server.wait(30)
        self.server.stdout.close()


@pytest.fixture
def ingests() -> Iterator[Ingests]:
    forking = Ingests()
    yield forking
    forking.close()


@pytest.mark.slow
def test_file_ingest_killed_at_random_points_loses_nothing_reported(
    plant: Plant, tmp_path: Path, ingests: Ingests
) -> None:
    stream = [encode_event(e) for e in example_events(plant, ExampleSettings(cars=CARS))]
    path = tmp_path / "line.jsonl"
    path.write_bytes(b"\n".join(stream) + b"\n")
    order = [line.split(b'"id":"', 1)[1].split(b'"', 1)[0].decode() for line in stream]
    assert len(set(order)) == len(order) >= 2_000

    template = tmp_path / "template.db"
    make_store(f"sqlite:///{template}", plant).dispose()
    # how long a whole run takes once ready: kills fall anywhere within it
    calibration = tmp_path / "calibration.db"
    shutil.copy(template, calibration)
    reported, finished, whole_s = ingests.run(
        f"sqlite:///{calibration}", path, tmp_path / "calibration.txt", None
    )
    assert finished and reported == order

    rng = random.Random(20250630)
    killed_midway = 0
    for trial in range(TRIALS):
        db = tmp_path / f"trial-{trial}.db"
        shutil.copy(template, db)
        url = f"sqlite:///{db}"
        report = tmp_path / f"trial-{trial}.txt"
        reported, finished, _ = ingests.run(url, path, report, rng.uniform(0.0, whole_s))
        engine = connect(url)
        try:
            stored = _stored_ids(engine)
            where = f"trial {trial}: {len(reported)} reported, {len(stored)} stored"
            assert len(set(stored)) == len(stored), where
            assert set(reported) <= set(stored), where
            assert stored == order[: len(stored)], where
            assert len(stored) % BATCH == 0 or len(stored) == len(order), where
            killed_midway += not finished and len(stored) < len(order)

            after_kill = snapshot(engine)
            rebuild(engine)
            assert snapshot(engine) == after_kill, where

            rerun = ingest_files(Ingestor(engine), [path], batch_size=500)
            assert (rerun.accepted, rerun.duplicates, rerun.rejected) == (
                len(order) - len(stored),
                len(stored),
                0,
            ), where
            assert _stored_ids(engine) == order, where
            if trial % 10 == 0:
                complete = snapshot(engine)
                rebuild(engine)
                assert snapshot(engine) == complete, where
        finally:
            engine.dispose()
            for leftover in tmp_path.glob(f"trial-{trial}.*"):
                leftover.unlink()
    assert killed_midway >= TRIALS // 2, f"only {killed_midway} of {TRIALS} kills fell mid-way"
