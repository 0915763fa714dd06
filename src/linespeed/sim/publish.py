"""Publishing an event stream to a broker as a line does: each event on its station's topic.

Events go out with QoS 1, in the stream's order, in real time or `speed` times faster
(`speed` 0: as fast as the broker takes them). The publisher keeps every message until the
broker acknowledges it, resends what was unacknowledged when the broker comes back, and
returns only when the broker has acknowledged every message.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import msgspec

from linespeed.mqtt.broker import BrokerAddress
from linespeed.mqtt.publisher import DEFAULT_WINDOW, QosOnePublisher
from linespeed.mqtt.topics import events_topic
from linespeed.sim.errors import SimInputError

__all__ = ["DEFAULT_WINDOW", "PublishReport", "publish_events"]


class _Route(msgspec.Struct):
    """What decides an event's topic and its moment (other fields ignored)."""

    ts: datetime
    line: str | None = None
    station: str | None = None
    simulated: bool = False


_route = msgspec.json.Decoder(_Route)


@dataclass
class PublishReport:
    """How many events were published (and acknowledged by the broker), and how long it took."""

    published: int = 0
    seconds: float = 0.0


def publish_events(
    lines: Iterable[bytes],
    broker: BrokerAddress,
    plant: str,
    *,
    speed: float = 1.0,
    default_line: str | None = None,
    client_id: str | None = None,
    window: int = DEFAULT_WINDOW,
    progress: Callable[[int], None] | None = None,
) -> PublishReport:
    """Publish JSON event lines to `linespeed/v1/<plant>/<line>/<station>/events`, QoS 1.

    Events naming no station go to the line-level topic (station `_`). Paced by their `ts`
    at `speed` times real time (0: no pacing). Returns once the broker has acknowledged
    every event. Every event must carry `"simulated": true` (as `event_lines` makes them): a
    bridge on a store not created with `init --simulation` dead-letters them
    (`event.simulated`). Raises BrokerError if the broker cannot be reached at the start, and
    SimInputError (sim.input) if `speed` is negative, or an event has no line to route by or
    is not marked simulated.
    """
    if speed < 0:
        raise SimInputError(
            lambda n: f"{n('speed')} must be >= 0, got {speed:g}", parameter="speed", value=speed
        )
    publisher = QosOnePublisher(
        broker, client_id or f"linespeed-sim-{plant}-{os.getpid()}", window=window
    )
    publisher.open()
    report = PublishReport()
    began = time.monotonic()
    first_ts: datetime | None = None
    try:
        for line in lines:
            route = _route.decode(line)
            if not route.simulated:
                raise SimInputError(
                    f"event {line[:80]!r} is not marked simulated: the simulator publishes "
                    'only its own events, each with "simulated": true',
                    parameter="lines",
                    value=line[:80],
                )
            route_line = route.line or default_line
            if route_line is None:
                raise SimInputError(
                    f"event {line[:80]!r} names no line to publish it under",
                    parameter="lines",
                    value=line[:80],
                )
            if speed > 0:
                first_ts = first_ts or route.ts
                due = began + (route.ts - first_ts).total_seconds() / speed
                wait_s = due - time.monotonic()
                if wait_s > 0:
                    publisher.pause(wait_s)
            publisher.publish(events_topic(plant, route_line, route.station), line)
            report.published += 1
            if progress is not None and report.published % 1000 == 0:
                progress(1000)
        publisher.drain()
        if progress is not None:
            progress(report.published % 1000)
    finally:
        publisher.close()
    report.seconds = time.monotonic() - began
    return report
