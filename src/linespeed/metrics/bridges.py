"""A bridge's own numbers, read from what it makes public at scrape time.

The command running a bridge hands a function giving its `BridgeNumbers`; a number the
bridge does not make public is None and has no sample.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


@dataclass(frozen=True)
class BridgeNumbers:
    """What a bridge has done since it started."""

    messages: int
    """Messages taken from the broker and acknowledged after their batch committed."""
    dead_letters: int
    """Messages refused whole: every event in them went to dead letters."""
    unacknowledged: int | None = None
    """Messages taken from the broker and not yet acknowledged."""
    reconnects: int | None = None
    """Times the bridge connected again after losing the broker."""


class BridgeCollector(Collector):
    """`linespeed_bridge_*{bridge}` for one bridge (`mqtt`, `nats`), from `numbers()`."""

    def __init__(self, bridge: str, numbers: Callable[[], BridgeNumbers]) -> None:
        self.bridge = bridge
        self.numbers = numbers

    def collect(self) -> Iterator[Metric]:
        """The bridge's counters and gauge, one sample each (none for what it hides)."""
        numbers = self.numbers()
        labels = ["bridge"]
        messages = CounterMetricFamily(
            "linespeed_bridge_messages_total",
            "Messages acknowledged after their batch committed.",
            labels=labels,
        )
        messages.add_metric([self.bridge], numbers.messages)
        yield messages
        dead = CounterMetricFamily(
            "linespeed_bridge_dead_letters_total",
            "Messages refused whole: every event in them went to dead letters.",
            labels=labels,
        )
        dead.add_metric([self.bridge], numbers.dead_letters)
        yield dead
        if numbers.unacknowledged is not None:
            waiting = GaugeMetricFamily(
                "linespeed_bridge_unacknowledged_messages",
                "Messages taken from the broker and not yet acknowledged.",
                labels=labels,
            )
            waiting.add_metric([self.bridge], numbers.unacknowledged)
            yield waiting
        if numbers.reconnects is not None:
            reconnects = CounterMetricFamily(
                "linespeed_bridge_reconnects_total",
                "Times the bridge connected again after losing the broker.",
                labels=labels,
            )
            reconnects.add_metric([self.bridge], numbers.reconnects)
            yield reconnects
