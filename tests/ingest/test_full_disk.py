"""An ingest that fills the disk: exit 1 with one line, what was stored kept, a re-run skips it.

The store lives on a small tmpfs of its own (mounted for the test: root only); the events file
on the ordinary disk.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from linespeed.store.engine import connect
from linespeed.store.schema import events

LINESPEED = str(Path(sys.executable).parent / "linespeed")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 10 MiB file system of its own."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=10m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=True)


def _linespeed(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LINESPEED, *args], capture_output=True, text=True, timeout=300)


def _stored(db_file: Path) -> int:
    engine = connect(f"sqlite:///{db_file}")
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(events)).scalar_one())
    finally:
        engine.dispose()


def test_an_ingest_that_fills_the_disk_stops_with_one_line_and_a_re_run_skips_what_it_stored(
    small_disk: Path, tmp_path: Path
) -> None:
    events_file = tmp_path / "line.jsonl"
    made = _linespeed("simulate", "--days", "5", "--out", str(events_file))
    assert made.returncode == 0, made.stderr
    total = len(events_file.read_bytes().splitlines())
    db_url = f"sqlite:///{small_disk / 'yz1.db'}"
    assert _linespeed("init", "--simulation", "--db", db_url).returncode == 0

    full = _linespeed("ingest", str(events_file), "--batch-size", "500", "--db", db_url)

    assert full.returncode == 1
    (line,) = full.stderr.strip().splitlines()
    assert line.startswith("error: the store's disk is full: ")
    assert "free space, then run the same command again: it skips what was stored" in line
    stored_before = int(line.split(": ")[2].split(" events were stored")[0].replace(",", ""))
    # What was acknowledged is in the store, whole: on a larger disk the store opens, and the
    # same command stores the rest and counts the first part as duplicates.
    moved = tmp_path / "moved"
    moved.mkdir()
    for part in small_disk.iterdir():
        shutil.copy(part, moved / part.name)
    assert _stored(moved / "yz1.db") == stored_before
    assert 0 < stored_before < total
    rerun = _linespeed("ingest", str(events_file), "--db", f"sqlite:///{moved / 'yz1.db'}")
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.startswith(
        f"accepted {total - stored_before}, duplicates {stored_before}, rejected 0"
    )
