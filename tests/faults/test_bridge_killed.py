"""The bridge killed with SIGKILL and the broker restarted while a line publishes.

Real processes and a real broker: `linespeed mqtt ingest` runs as a process and is killed
and restarted; a Mosquitto of the test's own (persistent) is stopped and started again; the
simulated line publishes with QoS 1 all the while. Every event the broker acknowledged to
the line must be stored exactly once.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from linespeed.plant.model import Plant
from linespeed.sim.publish import PublishReport, publish_events
from linespeed.store.deadletters import list_dead_letters
from linespeed.store.rebuild import rebuild
from linespeed.store.schema import events
from tests.conftest import make_store, snapshot
from tests.mqtt.conftest import Mosquitto, stored_count, wait_until

pytestmark = [pytest.mark.service, pytest.mark.slow]
LINESPEED = str(Path(sys.executable).parent / "linespeed")
PUBLISH_S = 12.0
"""How long the line takes to publish its events, so faults fall mid-stream."""


@pytest.fixture(scope="module")
def line_events() -> list[bytes]:
    """Five days of the bundled scenario's line: about 9,000 events."""
    from linespeed.sim.emit import event_lines
    from linespeed.sim.run import simulate
    from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, load_scenario

    return list(event_lines(simulate(load_scenario(DEFAULT_SCENARIO_PATH), days=5)))


class BridgeProcess:
    """`linespeed mqtt ingest` as a process of its own, started and killed at will."""

    def __init__(self, broker: Mosquitto, db_url: str, log: Path) -> None:
        self.command = [
            LINESPEED,
            "mqtt",
            "ingest",
            "--broker",
            broker.url,
            "--max-age-days",
            "0",
            "--json",
        ]
        self.env = {**os.environ, "LINESPEED_DB": db_url}
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        """Start the bridge and wait until it has subscribed."""
        self.starts += 1
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, env=self.env, stdout=log, stderr=subprocess.PIPE
            )
        assert self.process.stderr is not None
        line = self.process.stderr.readline()
        assert line.startswith(b"bridging "), line
        threading.Thread(target=self._drain, args=(self.process,), daemon=True).start()

    @staticmethod
    def _drain(process: subprocess.Popen[bytes]) -> None:
        assert process.stderr is not None
        with process.stderr:
            for _line in process.stderr:
                pass

    def kill(self) -> None:
        """SIGKILL the bridge."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """Stop the bridge as an operator would (SIGTERM); it exits 0."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(30) == 0


@pytest.fixture
def store(plant: Plant, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    url = f"sqlite:///{tmp_path / 'bridge.db'}"
    engine = make_store(url, plant, simulation=True)
    yield url, engine
    engine.dispose()


def _publish_in_background(
    line_events: list[bytes], broker: Mosquitto, plant: str
) -> tuple[threading.Thread, list[PublishReport]]:
    first = line_events[0].split(b'"ts":"')[1][:19].decode()
    last = line_events[-1].split(b'"ts":"')[1][:19].decode()
    span_s = (datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds()
    done: list[PublishReport] = []
    thread = threading.Thread(
        target=lambda: done.append(
            publish_events(
                line_events, broker.address, plant, speed=span_s / PUBLISH_S, client_id="line"
            )
        ),
        name="line",
    )
    thread.start()
    return thread, done


def _finish_line(
    publisher: threading.Thread,
    published: list[PublishReport],
    bridge: BridgeProcess,
    engine: Engine,
    line_events: list[bytes],
) -> None:
    """Wait for the line to be published and stored, stop the bridge, check every event."""
    publisher.join(120)
    assert published and published[0].published == len(line_events)
    wait_until(lambda: stored_count(engine) >= len(line_events), 60, "every event stored")
    time.sleep(0.5)  # anything repeated would be stored by now
    bridge.stop()
    _check_each_event_stored_once(engine, line_events)


def _check_each_event_stored_once(engine: Engine, line_events: list[bytes]) -> None:
    ids = [line.split(b'"id":"', 1)[1].split(b'"', 1)[0].decode() for line in line_events]
    with engine.connect() as connection:
        stored = list(connection.execute(select(events.c.event_id)).scalars())
        distinct = connection.execute(
            select(func.count(func.distinct(events.c.event_id)))
        ).scalar_one()
    assert len(stored) == distinct == len(ids)
    assert set(stored) == set(ids)
    assert [(d.reason, d.detail) for d in list_dead_letters(engine, None)] == []
    projections = snapshot(engine)
    rebuild(engine)
    assert snapshot(engine) == projections


def test_bridge_killed_mid_stream_loses_and_repeats_nothing(
    own_broker: Mosquitto,
    plant: Plant,
    store: tuple[str, Engine],
    line_events: list[bytes],
    tmp_path: Path,
) -> None:
    url, engine = store
    bridge = BridgeProcess(own_broker, url, tmp_path / "bridge.out")
    bridge.start()
    publisher, published = _publish_in_background(line_events, own_broker, plant.plant)
    rng = random.Random(7)
    kills = 0
    while publisher.is_alive() and kills < 4:
        time.sleep(rng.uniform(0.5, 2.0))
        bridge.kill()
        kills += 1
        bridge.start()
    assert kills >= 3, "the line finished before the faults"
    _finish_line(publisher, published, bridge, engine, line_events)


def test_broker_restarted_mid_stream_loses_and_repeats_nothing(
    own_broker: Mosquitto,
    plant: Plant,
    store: tuple[str, Engine],
    line_events: list[bytes],
    tmp_path: Path,
) -> None:
    url, engine = store
    bridge = BridgeProcess(own_broker, url, tmp_path / "bridge.out")
    bridge.start()
    publisher, published = _publish_in_background(line_events, own_broker, plant.plant)
    time.sleep(2.0)
    own_broker.restart()
    time.sleep(2.0)
    own_broker.stop()
    bridge.kill()  # both down at once
    time.sleep(0.5)
    own_broker.start()
    bridge.start()
    _finish_line(publisher, published, bridge, engine, line_events)
