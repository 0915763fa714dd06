"""What a scraper reads: the process's metrics joined with those read at scrape time.

`serve` answers `scrape(...)` at `/metrics`; a bridge runs `start_exporter` on its
`--metrics-port`. Each joins prometheus_client's process registry (the ingest and API
counters, and the process's CPU and memory) with collectors of its own, in a registry of
its own, so that several apps or bridges in one process never register a series twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest, start_http_server
from prometheus_client.core import Metric
from prometheus_client.registry import Collector, CollectorRegistry

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
"""The media type of `scrape`'s text (Prometheus text format 0.0.4)."""


class _Process(Collector):
    """The process registry's metrics, as one collector of another registry."""

    def collect(self) -> Iterator[Metric]:
        return iter(REGISTRY.collect())


def joined(*collectors: Collector) -> CollectorRegistry:
    """A registry of the process's metrics and `collectors` (read at each scrape)."""
    registry = CollectorRegistry()
    registry.register(_Process())
    for collector in collectors:
        registry.register(collector)
    return registry


def scrape(registry: CollectorRegistry) -> bytes:
    """The text of `registry`'s metrics, in Prometheus text format."""
    return generate_latest(registry)


def start_exporter(host: str, port: int, *collectors: Collector) -> int:
    """Serve `/metrics` (the process's metrics and `collectors`) on `host`:`port` in a
    daemon thread; returns the port (the one chosen when `port` is 0).

    Raises OSError if the address cannot be bound.
    """
    server, _thread = start_http_server(port, host, registry=joined(*collectors))
    return int(server.server_port)
