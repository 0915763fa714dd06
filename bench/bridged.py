"""What the bridge benchmarks (`bench/mqtt.py`, `bench/jetstream.py`) share: a simulation
store, its event count, and the baseline they compare with, file ingest of the same events."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, func, select

from linespeed.store.schema import events

LINESPEED = str(Path(sys.executable).parent / "linespeed")

_FILE_INGEST = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from linespeed.ingest.core import Ingestor\n"
    "from linespeed.ingest.files import ingest_files\n"
    "from linespeed.store.engine import connect\n"
    "ingestor = Ingestor(connect(sys.argv[1]))\n"
    "began, cpu = time.perf_counter(), time.process_time()\n"
    "report = ingest_files(ingestor, [Path(sys.argv[2])])\n"
    "print(time.perf_counter() - began, time.process_time() - cpu, report.accepted)\n"
)


def init_store(db_url: str) -> None:
    """A new simulation store at `db_url` (`linespeed init --simulation`)."""
    subprocess.run(
        [LINESPEED, "init", "--simulation", "--db", db_url], check=True, capture_output=True
    )


def stored(engine: Engine) -> int:
    """How many events the store holds."""
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(events)).scalar_one())


def file_ingest_s(lines: list[bytes], folder: Path, run: int) -> tuple[float, float]:
    """Wall and CPU seconds of ingesting `lines` as a JSONL file into a new store, in a
    process of its own (its start-up not timed). Raises AssertionError unless all are
    accepted."""
    path = folder / "line.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    db_url = f"sqlite:///{folder / f'file-{run}.db'}"
    init_store(db_url)
    done = subprocess.run(
        [sys.executable, "-c", _FILE_INGEST, db_url, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds, cpu_s, accepted = done.stdout.split()
    assert int(accepted) == len(lines)
    return float(seconds), float(cpu_s)
