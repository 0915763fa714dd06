"""File ingest in processes forked from one that has already loaded linespeed.

Run as `python reporting_ingest.py`: for each line `DB_URL FILE BATCH_SIZE REPORT` on stdin it
forks a process that ingests FILE the way `linespeed ingest` does (`Ingestor.ingest_batches`
over the file's batches) and appends to REPORT `ready`, then the accepted event ids of each
batch as soon as the batch is committed, then `done`. It answers `pid N` at once and `exit S`
when that process has ended. Forking skips the second or two an interpreter takes to load
linespeed, so the fault tests can kill fifty real ingests with SIGKILL in little time.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from linespeed.ingest.core import Ingestor, batched
from linespeed.ingest.files import read_events
from linespeed.store.engine import connect


def ingest_reporting(db_url: str, path: Path, batch_size: int, report: Path) -> None:
    """Ingest `path`, appending each committed batch's accepted ids to `report`."""
    descriptor = os.open(report, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(descriptor, b"ready\n")
    ingestor = Ingestor(connect(db_url))
    for outcomes in ingestor.ingest_batches(batched(read_events(path), batch_size)):
        accepted = [o.event_id or "" for o in outcomes if o.status == "accepted"]
        os.write(descriptor, (" ".join(accepted) + "\n").encode())
    os.write(descriptor, b"done\n")


def main() -> None:
    """Serve fork requests until stdin ends."""
    for request in sys.stdin:
        db_url, path, batch_size, report = request.split()
        pid = os.fork()
        if pid == 0:
            try:
                ingest_reporting(db_url, Path(path), int(batch_size), Path(report))
            finally:
                os._exit(0)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exit {status}", flush=True)


if __name__ == "__main__":
    main()
