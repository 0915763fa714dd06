"""Ingest of a stream of JSON event lines from a live source (the simulator, a pipe)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from linespeed.ingest.core import (
    DEFAULT_BATCH_SIZE,
    Ingestor,
    IngestReport,
    RawEvent,
    batched,
    ingest_counted,
)


def ingest_lines(
    ingestor: Ingestor,
    lines: Iterable[bytes],
    source: str,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> IngestReport:
    """Ingest JSON event lines in batches, each tagged `source:n`; `progress` gets events done.

    The next batch is read (and so made, for the simulator) and decoded while one commits.
    Raises IngestStoppedError if the store fails part-way.
    """
    items = (RawEvent(line, f"{source}:{number}") for number, line in enumerate(lines, 1))
    return ingest_counted(ingestor, batched(items, batch_size), progress)
