"""Publishing an event stream to a broker as a line does: each event on its station's topic.

Events go out with QoS 1, in the stream's order, in real time or `speed` times faster
(`speed` 0: as fast as the broker takes them). The publisher keeps every message until the
broker acknowledges it, resends what was unacknowledged when the broker comes back, and
returns only when the broker has acknowledged every message.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import msgspec
import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from linespeed.errors import LinespeedError
from linespeed.mqtt.broker import BrokerAddress, Connection
from linespeed.mqtt.topics import events_topic

DEFAULT_WINDOW: Final = 1_000
"""Messages sent ahead of the broker's acknowledgements."""


class _Route(msgspec.Struct):
    """What decides an event's topic and its moment (other fields ignored)."""

    ts: datetime
    line: str | None = None
    station: str | None = None


_route = msgspec.json.Decoder(_Route)


@dataclass
class PublishReport:
    """How many events were published (and acknowledged by the broker), and how long it took."""

    published: int = 0
    seconds: float = 0.0


class _Window:
    """Counts messages the broker has not acknowledged; blocks when too many are out."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.out = 0
        self._changed = threading.Condition()

    def take(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self.out < self.size)
            self.out += 1

    def give_back(self) -> None:
        with self._changed:
            self.out -= 1
            self._changed.notify_all()

    def wait_empty(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self.out == 0)


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
    every event. Raises BrokerError if the broker cannot be reached at the start, and
    LinespeedError (sim.input) if `speed` is negative or an event has no line to route by.
    """
    if speed < 0:
        raise LinespeedError(f"--speed must be >= 0, got {speed:g}", code="sim.input")
    connection = Connection(broker, client_id or f"linespeed-sim-{plant}-{os.getpid()}")
    in_flight = _Window(window)

    def acknowledged(
        _client: mqtt.Client,
        _userdata: Any,
        _mid: int,
        _reason: ReasonCode,
        _properties: Properties,
    ) -> None:
        in_flight.give_back()

    connection.client.on_publish = acknowledged
    connection.open()
    report = PublishReport()
    began = time.monotonic()
    first_ts: datetime | None = None
    try:
        for line in lines:
            route = _route.decode(line)
            route_line = route.line or default_line
            if route_line is None:
                raise LinespeedError(
                    f"event {line[:80]!r} names no line to publish it under", code="sim.input"
                )
            if speed > 0:
                first_ts = first_ts or route.ts
                due = began + (route.ts - first_ts).total_seconds() / speed
                wait_s = due - time.monotonic()
                if wait_s > 0:
                    time.sleep(wait_s)
            in_flight.take()
            connection.client.publish(events_topic(plant, route_line, route.station), line, qos=1)
            report.published += 1
            if progress is not None and report.published % 1000 == 0:
                progress(1000)
        in_flight.wait_empty()
        if progress is not None:
            progress(report.published % 1000)
    finally:
        connection.close()
    report.seconds = time.monotonic() - began
    return report
