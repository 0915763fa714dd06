"""Prometheus metrics: what `serve` answers at `/metrics` and the bridges at `--metrics-port`.

Every metric's name starts with `linespeed_`; docs/operations.md ("Monitoring") lists them.
The counters and histograms live in prometheus_client's process registry (`REGISTRY`), made
once per process; what is read from a store or a bridge at scrape time is a collector of its
own, joined with the process registry per app or exporter (`exposition`), so many apps in one
process never register a series twice.

- `ingest`: events accepted, refused by reason and duplicated, and batch latency, counted
  per batch from the one ingest path (`watch_ingest`).
- `requests`: API latency by route template, method and status (`observe_request`).
- `lines`: `LineAgeCollector`, the seconds since each line's newest car start or completion,
  read from the store at scrape time in one query (`NewestCars`: the first look walks the
  time indexes, later ones read only the cars since; `newest_unit_times`).
- `bridges`: `BridgeCollector`, a bridge's messages, unacknowledged messages, reconnects and
  dead letters read from its public numbers (`BridgeNumbers`) at scrape time.
- `exposition`: `joined` (the process registry with collectors of an app or bridge),
  `scrape` (the text a scraper reads), `CONTENT_TYPE`, `start_exporter` (the bridges'
  `/metrics` on a port of their own).
"""

from __future__ import annotations

from linespeed.metrics.bridges import BridgeCollector, BridgeNumbers
from linespeed.metrics.exposition import CONTENT_TYPE, joined, scrape, start_exporter
from linespeed.metrics.ingest import watch_ingest
from linespeed.metrics.lines import LineAgeCollector, NewestCars, newest_unit_times
from linespeed.metrics.requests import observe_request

__all__ = [
    "CONTENT_TYPE",
    "BridgeCollector",
    "BridgeNumbers",
    "LineAgeCollector",
    "NewestCars",
    "joined",
    "newest_unit_times",
    "observe_request",
    "scrape",
    "start_exporter",
    "watch_ingest",
]
