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


def test_csv_receipts_read_quantity_as_a_whole_number_and_serials_as_a_list(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "receipts.csv"
    path.write_text(
        "id,ts,kind,part,quantity,supplier,lot,serials\n"
        "g1,2025-06-30T06:00:00+08:00,part.received,BRK-2201,400,sup-brk,24-113,\n"
        "g2,2025-06-30T06:01:00+08:00,part.received,BAT-1001,2,sup-bat,,BP-1;BP-2\n"
        "g3,2025-06-30T06:02:00+08:00,part.received,BAT-1001,2,sup-bat,,BP-3 BP-4\n"
        "g4,2025-06-30T06:03:00+08:00,part.received,BRK-2201,4e2,sup-brk,24-114,\n"
        "g5,2025-06-30T06:04:00+08:00,stock.counted,BRK-2201,390,,,\n"
    )

    report = ingest_files(Ingestor(engine), [path])

    assert report.as_dict() == {
        "accepted": 4,
        "duplicates": 0,
        "rejected": 1,
        "reasons": {"csv.row": 1},
    }
    from linespeed.supply.stock import stock_report

    rows = {row.part: row for row in stock_report(engine).parts}
    assert (rows["BRK-2201"].received, rows["BRK-2201"].on_hand) == (400, 390)
    assert rows["BAT-1001"].received == 4


@pytest.mark.slow
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


@pytest.mark.slow
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
    rebuild(engine)
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


NINE = "2025-06-30T09:00:00+08:00"


def test_csv_rows_that_do_not_parse_keep_their_id_and_are_not_retried(
    engine: Engine, plant: Plant, tmp_path: Path
) -> None:
    from linespeed.ingest.retry import retry_dead_letters
    from linespeed.store.deadletters import list_dead_letters
    from tests.ingest.line import vin

    car = vin(plant, "s7", 1)
    path = tmp_path / "excel.csv"
    path.write_bytes(
        b"\xef\xbb\xbfid,ts,kind,vin,station,check,result,value\n"
        + f"r1,{NINE},inspection.recorded,{car},body-100,dimensional-check,pass,nan\n".encode()
        + f"r2,{NINE},inspection.recorded,{car},body-100,dimensional-check,pass,1e400\n".encode()
        + b"r3,2025-06-30T09:00:00+08:00,unit.completed,LSPA1S7E8SB00\xff001,,,,\n"
    )

    report = ingest_files(Ingestor(engine), [path])

    assert report.as_dict()["reasons"] == {"csv.row": 3}
    letters = list_dead_letters(engine)
    assert [letter.event_id for letter in letters] == ["r1", "r2", "r3"]
    assert "not a finite number" in letters[0].detail
    assert "not UTF-8" in letters[2].detail
    retried = retry_dead_letters(Ingestor(engine))
    assert (retried.retried, retried.skipped) == (0, 3)
    assert [letter.reason for letter in list_dead_letters(engine)] == ["csv.row"] * 3


def test_a_bad_header_in_a_later_file_stops_before_anything_is_ingested(
    engine: Engine, plant: Plant, tmp_path: Path
) -> None:
    good = tmp_path / "good.jsonl"
    _write_jsonl(good, plant, cars=1)
    bad = tmp_path / "later.csv"
    bad.write_text("id,ts,kind,colour\n")
    with pytest.raises(InputFileError, match=r"later\.csv:1: unknown column"):
        ingest_files(Ingestor(engine), [good, bad])
    assert _count(engine, events) == 0


def test_a_payload_refused_again_for_another_reason_keeps_one_open_letter(
    engine: Engine, plant: Plant
) -> None:
    from linespeed.store.deadletters import list_dead_letters
    from tests.conftest import ingest
    from tests.ingest.line import event, start, vin

    car = vin(plant, "s7", 1)
    ship = event("unit.shipped", vin=car)
    assert ingest(engine, [ship])[0].reason == "unit.unknown"
    assert ingest(engine, [ship])[0].reason == "unit.unknown"
    assert len(list_dead_letters(engine)) == 1
    ingest(engine, [start(plant, "s7", 1)])
    assert ingest(engine, [ship])[0].reason == "unit.not_completed"

    (letter,) = list_dead_letters(engine)
    assert letter.reason == "unit.not_completed"
