"""Ingest metrics: events accepted, refused by reason and duplicated, and batch latency.

They are counted once per batch, after it commits, from the outcomes the one ingest path
returns (`linespeed.ingest.core.observe_batches`), whatever the source: every `Ingestor` of
the process is watched, and retries of dead letters count as they come out. The `source`
label is the process's kind of source (`api` for `serve`, `mqtt`, `nats`), set once.
"""

from __future__ import annotations

import threading
from collections import Counter as Tally
from collections.abc import Sequence
from typing import Final

from prometheus_client import Counter, Histogram, disable_created_metrics

from linespeed.ingest.core import Outcome, observe_batches

# No `_created` series beside each counter and histogram (read when scraped: for every one).
disable_created_metrics()  # type: ignore[no-untyped-call]

EVENTS_ACCEPTED: Final = Counter(
    "linespeed_events_accepted_total",
    "Events accepted and stored.",
    ["source"],
)
EVENTS_REFUSED: Final = Counter(
    "linespeed_events_refused_total",
    "Events refused, into dead letters, by reason code.",
    ["source", "reason"],
)
EVENTS_DUPLICATE: Final = Counter(
    "linespeed_events_duplicate_total",
    "Events that were stored before with the same content (acknowledged, stored once).",
    ["source"],
)
BATCH_SECONDS: Final = Histogram(
    "linespeed_ingest_batch_seconds",
    "Seconds to check, store and commit one batch of events.",
    ["source"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

_lock = threading.Lock()
_source: str | None = None


def watch_ingest(source: str) -> None:
    """Count every batch ingested in this process from now on, labelled `source` (`api`,
    `mqtt`, `nats`). Only the first call starts counting; later ones change nothing.

    Raises ValueError if `source` is empty.
    """
    global _source
    if not source:
        raise ValueError("the source of ingest metrics must be named, e.g. 'api'")
    with _lock:
        if _source is None:
            _source = source
            observe_batches(_count)


def _count(outcomes: Sequence[Outcome], took_s: float) -> None:
    source = _source or "unknown"
    accepted = duplicates = 0
    refused: Tally[str] | None = None
    for outcome in outcomes:
        status = outcome.status
        if status == "accepted":
            accepted += 1
        elif status == "duplicate":
            duplicates += 1
        else:
            if refused is None:
                refused = Tally()
            refused[outcome.reason or "unknown"] += 1
    BATCH_SECONDS.labels(source).observe(took_s)
    EVENTS_ACCEPTED.labels(source).inc(accepted)
    EVENTS_DUPLICATE.labels(source).inc(duplicates)
    for reason, count in (refused or {}).items():
        EVENTS_REFUSED.labels(source, reason).inc(count)
