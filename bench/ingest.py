"""Ingest benchmark: linespeed's validated ingest against a raw sqlite3 baseline.

It generates N valid events on the bundled default plant (the plain example stream, cut
at exactly N events) into a JSONL file, then measures in the same run:

(a) raw baseline: read and parse (msgspec) the JSONL file, and `sqlite3.executemany` the
    events into one plain table with an index on VIN (same PRAGMAs as linespeed: WAL,
    synchronous=FULL), one commit per batch;
(b) linespeed: `linespeed ingest FILE --json` in a subprocess on a freshly initialised
    SQLite store, which decodes, validates against the plant and the cars' states, appends
    and projects every event;

and then a second `linespeed ingest` of the same file (all duplicates) and a rebuild of
every projection from the log (`linespeed.store.rebuild`, in this process). It prints both
rates, the ratio b/a (goal >= 1.0), bytes on disk per event, the rebuild rate with the time
it gives for the 29 million events of a 15-month store (goal <= 5 min) and the peak RSS of
the ingest process. It only prints figures; it never asserts timings.

Run:
    .venv/bin/python bench/ingest.py                  # 1,000,000 events
    .venv/bin/python bench/ingest.py --events 20000   # quick smoke run
    .venv/bin/python bench/ingest.py --json --keep --workdir /tmp/ls-bench
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import msgspec

from linespeed.events.codec import encode_event
from linespeed.events.types import Event
from linespeed.ingest.core import DEFAULT_BATCH_SIZE
from linespeed.plant.load import DEFAULT_PLANT_PATH, load_plant
from linespeed.sim.example import ExampleSettings, example_events
from linespeed.store.engine import connect
from linespeed.store.rebuild import rebuild

GOAL_RATIO = 1.0
PLANT_SCALE_EVENTS = 29_000_000
"""Events of a full-detail 15-month store (300,000 cars), for the rebuild estimate."""
GOAL_REBUILD_MIN = 5.0
EVENTS_FILE = "events.jsonl"
LINESPEED_DB = "bench.db"
RAW_DB = "raw.db"
RAW_SCHEMA = (
    "CREATE TABLE events (seq INTEGER PRIMARY KEY, event_id TEXT, kind TEXT, ts TEXT,"
    " vin TEXT, body TEXT)",
    "CREATE INDEX events_vin ON events (vin)",
)
RAW_INSERT = "INSERT INTO events (event_id, kind, ts, vin, body) VALUES (?, ?, ?, ?, ?)"


@dataclass(frozen=True)
class Run:
    """One timed subprocess: wall time, exit code, its stdout and its own peak RSS."""

    elapsed_s: float
    returncode: int
    stdout: str
    stderr: str
    max_rss_bytes: int


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events", type=int, default=1_000_000, help="events to generate (default 1,000,000)"
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="working folder (default: a temporary one)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary working folder at the end"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"events per transaction, both sides (default {DEFAULT_BATCH_SIZE})",
    )
    parser.add_argument(
        "--json", action="store_true", help="also print the figures as one JSON object"
    )
    args = parser.parse_args(argv)
    if args.events < 1:
        parser.error("--events must be at least 1")
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    return args


def generate(path: Path, count: int) -> None:
    """Write exactly `count` valid events of the example stream to a JSONL file.

    The stream is generated lazily and cut at `count`: a prefix of a valid, time-ordered
    stream is valid.
    """
    plant = load_plant(DEFAULT_PLANT_PATH)
    # A car emits at least: started, one completion per station, completed, shipped.
    least_per_car = len(plant.lines[0].stations) + 3
    cars = count // least_per_car + 1
    stream: Iterator[Event] = example_events(plant, ExampleSettings(cars=cars, ship=True))
    written = 0
    with path.open("wb") as handle:
        for event in islice(stream, count):
            handle.write(encode_event(event) + b"\n")
            written += 1
    if written != count:
        raise SystemExit(f"the example stream ended after {written} events, {count} wanted")


def raw_baseline(events_path: Path, db_path: Path, batch_size: int) -> tuple[float, float]:
    """Read, parse and executemany the events into a plain table.

    Returns the seconds taken in all, and the part of them spent in executemany and commit.
    """
    decoder = msgspec.json.Decoder()
    connection = sqlite3.connect(db_path)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        for statement in RAW_SCHEMA:
            connection.execute(statement)
        connection.commit()

        def insert(rows: list[tuple[Any, ...]]) -> float:
            started = time.perf_counter()
            connection.executemany(RAW_INSERT, rows)
            connection.commit()
            return time.perf_counter() - started

        inserting = 0.0
        started = time.perf_counter()
        with events_path.open("rb") as handle:
            rows: list[tuple[Any, ...]] = []
            for line in handle:
                text = line.strip()
                if not text:
                    continue
                event = decoder.decode(text)
                rows.append(
                    (event["id"], event["kind"], event["ts"], event.get("vin"), text.decode())
                )
                if len(rows) >= batch_size:
                    inserting += insert(rows)
                    rows = []
            if rows:
                inserting += insert(rows)
        elapsed = time.perf_counter() - started
    finally:
        connection.close()
    return elapsed, inserting


def run_timed(command: list[str], output_dir: Path, name: str) -> Run:
    """Run a command to completion; its wall time and its own peak RSS (via wait4)."""
    stdout_path = output_dir / f"{name}.stdout"
    stderr_path = output_dir / f"{name}.stderr"
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in kilobytes on Linux, in bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    return Run(
        elapsed_s=elapsed,
        returncode=process.returncode,
        stdout=stdout_path.read_text(),
        stderr=stderr_path.read_text(),
        max_rss_bytes=usage.ru_maxrss * scale,
    )


def on_disk(db_path: Path) -> int:
    """Bytes of a SQLite database and its write-ahead log, if any."""
    return sum(
        path.stat().st_size
        for path in (db_path, db_path.with_name(db_path.name + "-wal"))
        if path.exists()
    )


def check_report(run: Run, what: str, accepted: int, duplicates: int) -> dict[str, Any] | None:
    """The JSON report of an ingest run; prints a loud warning if it is not as expected."""
    if run.returncode != 0:
        print(f"!!! WARNING: {what} exited with {run.returncode}: {run.stderr.strip()[-2000:]}")
        return None
    try:
        report: dict[str, Any] = json.loads(run.stdout)
    except json.JSONDecodeError:
        print(f"!!! WARNING: {what} printed no JSON report: {run.stdout[-2000:]!r}")
        return None
    if (
        report.get("accepted") != accepted
        or report.get("duplicates") != duplicates
        or report.get("rejected") != 0
    ):
        print(
            f"!!! WARNING: {what} expected accepted={accepted} duplicates={duplicates} "
            f"rejected=0, got {json.dumps(report)}"
        )
    return report


def clear(workdir: Path) -> None:
    """Remove what an earlier run left in a working folder that is reused."""
    for name in (EVENTS_FILE, LINESPEED_DB, RAW_DB):
        for suffix in ("", "-wal", "-shm", "-journal"):
            (workdir / (name + suffix)).unlink(missing_ok=True)


def mib(size: float) -> str:
    """Bytes as MiB, rounded."""
    return f"{size / 2**20:,.0f} MiB"


def bench(workdir: Path, count: int, batch_size: int) -> dict[str, Any]:
    """Run the whole benchmark in `workdir`, printing figures as they come; returns them."""
    linespeed = str(Path(sys.executable).parent / "linespeed")
    events_path = workdir / EVENTS_FILE
    db_path = workdir / LINESPEED_DB
    url = f"sqlite:///{db_path}"
    figures: dict[str, Any] = {"events": count, "batch_size": batch_size}
    print(f"events: {count:,}, batch size {batch_size:,}, in {workdir}")

    started = time.perf_counter()
    generate(events_path, count)
    figures["generate_s"] = time.perf_counter() - started
    figures["jsonl_bytes_per_event"] = events_path.stat().st_size / count
    print(
        f"generate: {figures['generate_s']:.2f} s "
        f"({figures['jsonl_bytes_per_event']:.0f} bytes per JSONL line, not timed below)"
    )

    raw_s, insert_s = raw_baseline(events_path, workdir / RAW_DB, batch_size)
    raw_rate = count / raw_s
    figures.update(
        raw_s=raw_s,
        raw_events_per_s=raw_rate,
        raw_insert_s=insert_s,
        raw_insert_events_per_s=count / insert_s,
    )
    print(
        f"raw executemany: {raw_rate:,.0f} events/s ({raw_s:.2f} s read+parse+insert; "
        f"executemany+commit alone {count / insert_s:,.0f} events/s)"
    )

    startup = run_timed([linespeed, "--help"], workdir, "startup")
    figures["cli_startup_s"] = startup.elapsed_s
    init = run_timed([linespeed, "init", "--db", url], workdir, "init")
    if init.returncode != 0:
        raise SystemExit(f"linespeed init failed ({init.returncode}): {init.stderr}")

    ingest_command = [
        linespeed,
        "ingest",
        str(events_path),
        "--json",
        "--db",
        url,
        "--batch-size",
        str(batch_size),
    ]
    first = run_timed(ingest_command, workdir, "ingest")
    report = check_report(first, "linespeed ingest", accepted=count, duplicates=0)
    rate = count / first.elapsed_s
    ratio = rate / raw_rate
    figures.update(
        linespeed_s=first.elapsed_s,
        linespeed_events_per_s=rate,
        ratio=ratio,
        linespeed_report=report,
        linespeed_peak_rss_bytes=first.max_rss_bytes,
    )
    print(
        f"linespeed ingest: {rate:,.0f} events/s ({first.elapsed_s:.2f} s, "
        f"of which ~{startup.elapsed_s:.2f} s CLI start-up)"
    )
    print(f"ratio b/a: {ratio:.2f} (goal >= {GOAL_RATIO})")

    linespeed_bytes = on_disk(db_path) / count
    raw_bytes = on_disk(workdir / RAW_DB) / count
    figures.update(linespeed_bytes_per_event=linespeed_bytes, raw_bytes_per_event=raw_bytes)
    print(f"bytes per event: linespeed {linespeed_bytes:,.0f}, raw {raw_bytes:,.0f}")

    again = run_timed(ingest_command, workdir, "reingest")
    check_report(again, "linespeed re-ingest", accepted=0, duplicates=count)
    again_rate = count / again.elapsed_s
    figures.update(
        reingest_s=again.elapsed_s,
        reingest_events_per_s=again_rate,
        reingest_peak_rss_bytes=again.max_rss_bytes,
    )
    print(f"linespeed re-ingest (all duplicates): {again_rate:,.0f} events/s")
    engine = connect(url)
    started = time.perf_counter()
    rebuild(engine)
    rebuild_s = time.perf_counter() - started
    engine.dispose()
    rebuild_rate = count / rebuild_s
    figures.update(rebuild_s=rebuild_s, rebuild_events_per_s=rebuild_rate)
    print(
        f"linespeed rebuild (in process): {rebuild_rate:,.0f} events/s ({rebuild_s:.2f} s); "
        f"{PLANT_SCALE_EVENTS:,} events would take {PLANT_SCALE_EVENTS / rebuild_rate / 60:.1f} min"
        f" (goal <= {GOAL_REBUILD_MIN:g} min)"
    )
    print(
        f"peak RSS: linespeed ingest {mib(first.max_rss_bytes)}, "
        f"re-ingest {mib(again.max_rss_bytes)}"
    )
    return figures


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, run the benchmark in its working folder, clean up."""
    args = parse_args(argv)
    temporary = args.workdir is None
    if args.workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix="linespeed-bench-"))
    else:
        workdir = args.workdir.resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        clear(workdir)
    try:
        figures = bench(workdir, args.events, args.batch_size)
    finally:
        if temporary and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
