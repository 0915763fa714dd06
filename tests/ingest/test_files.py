"""File ingest: JSONL and CSV, idempotent re-runs, all-or-nothing batches, crash and re-run."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from linespeed.errors import InputFileError
from linespeed.events.codec import encode_event
from linespeed.ingest.core import Ingestor
from linespeed.ingest.files import ingest_files
from linespeed.plant.model import Plant
from linespeed.sim.example import ExampleSettings, example_events
from linespeed.store.engine import connect
from linespeed.store.projector import Projector
from linespeed.store.rebuild import rebuild
from linespeed.store.schema import dead_letters, events, units
from tests.conftest import snapshot

LINESPEED = str(Path(sys.executable).parent / "linespeed")


def _write_jsonl(path: Path, plant: Plant, cars: int) -> int:
    stream = [encode_event(e) for e in example_events(plant, ExampleSettings(cars=cars))]
    path.write_bytes(b"\n".join(stream) + b"\n")
    return len(stream)


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar() or 0)


def test_jsonl_ingest_then_reingest_changes_nothing(
    engine: Engine, plant: Plant, tmp_path: Path
) -> None:
    path = tmp_path / "line.jsonl"
    n = _write_jsonl(path, plant, cars=5)
    with path.open("ab") as handle:
        handle.write(b"\n   \n{broken\n")

    first = ingest_files(Ingestor(engine), [path], batch_size=50)
    assert first.as_dict() == {
        "accepted": n,
        "duplicates": 0,
        "rejected": 1,
        "reasons": {"json.malformed": 1},
    }
    before = snapshot(engine)

    again = ingest_files(Ingestor(engine), [path], batch_size=50)

    assert again.as_dict() == {
        "accepted": 0,
        "duplicates": n,
        "rejected": 1,
        "reasons": {"json.malformed": 1},
    }
    assert snapshot(engine) == before
    with engine.connect() as connection:
        (source,) = connection.execute(select(dead_letters.c.source)).scalars().all()
    assert source == f"{path}:{n + 3}"


def test_csv_ingest_with_documented_header(engine: Engine, plant: Plant, tmp_path: Path) -> None:
    from tests.ingest.line import start, vin

    started = start(plant, "s7", 1)
    car = vin(plant, "s7", 1)
    path = tmp_path / "line.csv"
    path.write_text(
        "id,ts,kind,vin,model,color,station,result,check,value\n"
        f"{started['id']},{started['ts']},unit.started,{car},s7,pearl-white,,,,\n"
        f"c2,2025-06-30T09:00:00+08:00,station.completed,{car},,,body-010,ok,,\n"
        "c3,2025-06-30T09:01:00+08:00,station.completed,,,,body-020\n"
        f"c4,2025-06-30T09:02:00+08:00,inspection.recorded,{car},,,body-100,pass,dimensional-check,abc\n"
    )

    report = ingest_files(Ingestor(engine), [path])

    assert report.as_dict() == {
        "accepted": 2,
        "duplicates": 0,
        "rejected": 2,
        "reasons": {"csv.row": 2},
    }
    assert _count(engine, units) == 1


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("id,ts,kind,colour\n", "unknown column(s) 'colour'"),
        ("id,kind,vin\n", "lacks column(s) ts"),
        ("id,ts,kind,vin,vin\n", "repeated"),
        ("", "empty file"),
    ],
)
def test_csv_with_a_bad_header_is_refused_whole(
    engine: Engine, tmp_path: Path, header: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(header)
    with pytest.raises(InputFileError, match=re.escape(message)) as raised:
        ingest_files(Ingestor(engine), [path])
    assert str(path) in str(raised.value)
    assert _count(engine, events) == 0


def test_missing_file_is_named_before_anything_is_ingested(
    engine: Engine, plant: Plant, tmp_path: Path
) -> None:
    good = tmp_path / "good.jsonl"
    _write_jsonl(good, plant, cars=1)
    with pytest.raises(InputFileError, match=r"nope\.jsonl: no such file"):
        ingest_files(Ingestor(engine), [good, tmp_path / "nope.jsonl"])
    assert _count(engine, events) == 0


def test_a_failing_batch_stores_nothing_and_a_retry_completes(
    engine: Engine, plant: Plant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "line.jsonl"
    n = _write_jsonl(path, plant, cars=3)
    ingestor = Ingestor(engine)
    real_flush = Projector.flush

    def failing_flush(self: Projector, connection: Any) -> int:
        real_flush(self, connection)
        raise OSError("disk full")

    monkeypatch.setattr(Projector, "flush", failing_flush)
    with pytest.raises(OSError, match="disk full"):
        ingest_files(ingestor, [path])
    assert _count(engine, events) == 0
    assert _count(engine, units) == 0

    monkeypatch.setattr(Projector, "flush", real_flush)
    assert ingest_files(ingestor, [path]).accepted == n


@pytest.fixture
def big_file(plant: Plant, tmp_path: Path) -> Iterator[tuple[Path, int]]:
    path = tmp_path / "big.jsonl"
    yield path, _write_jsonl(path, plant, cars=60)


def test_killed_ingest_loses_nothing_committed_and_rerun_completes(
    db_url: str, engine: Engine, big_file: tuple[Path, int]
) -> None:
    path, n = big_file
    env = {**os.environ, "LINESPEED_DB": db_url}
    process = subprocess.Popen([LINESPEED, "ingest", "--batch-size", "50", str(path)], env=env)
    deadline = time.monotonic() + 60
    while _count(engine, events) < 500 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    stored = _count(engine, events)
    assert 0 < stored <= n

    after_kill = snapshot(engine)
    rebuild(connect(db_url))
    assert snapshot(engine) == after_kill

    rerun = subprocess.run(
        [LINESPEED, "ingest", "--json", str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    report = __import__("json").loads(rerun.stdout)
    assert report == {"accepted": n - stored, "duplicates": stored, "rejected": 0, "reasons": {}}
    assert _count(engine, events) == n
    with engine.connect() as connection:
        ids = connection.execute(select(events.c.event_id)).scalars().all()
        seqs = (
            connection.execute(select(units.c.start_seq).order_by(units.c.start_seq))
            .scalars()
            .all()
        )
    assert len(set(ids)) == n
    assert seqs == list(range(1, 61))
