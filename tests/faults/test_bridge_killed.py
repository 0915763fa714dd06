"""The bridge killed with SIGKILL and the broker restarted while a line publishes.

Real processes and a real broker: `linespeed mqtt ingest` runs as a process and is killed
and restarted; a Mosquitto of the test's own (persistent) is stopped and started again; the
simulated line publishes with QoS 1 all the while. Every event the broker acknowledged to
the line must be stored exactly once. The bridge is also killed with a nats-server's MQTT
listener as the broker, which speaks only MQTT 3.1.1: bridge and line fall back to it.
"""

from __future__ import annotations

import logging
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

from linespeed.events.reasons import is_retryable
from linespeed.plant.model import Plant
from linespeed.sim.publish import PublishReport, publish_events
from linespeed.store.deadletters import list_dead_letters
from linespeed.store.rebuild import rebuild
from linespeed.store.schema import events
from tests.conftest import make_store, snapshot
from tests.mqtt.conftest import Mosquitto, NatsServer, stored_count, wait_until

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

    def __init__(self, broker: Mosquitto | NatsServer, db_url: str, log: Path) -> None:
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
        self.ready_lines: list[bytes] = []
        self.logged: list[bytes] = []

    def start(self) -> None:
        """Start the bridge and wait until it has subscribed."""
        self.starts += 1
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, env=self.env, stdout=log, stderr=subprocess.PIPE
            )
        assert self.process.stderr is not None
        line = self.process.stderr.readline()
        while b" WARNING linespeed.mqtt.handshake the broker at " in line:  # the fall-back to 3.1.1
            self.logged.append(line)
            line = self.process.stderr.readline()
        assert line.startswith(b"bridging "), line
        self.ready_lines.append(line)
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


@pytest.fixture(params=["mosquitto", "nats"])
def any_broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Mosquitto | NatsServer]:
    """A broker of the test's own: Mosquitto (MQTT 5), or nats-server (MQTT 3.1.1 only)."""
    folder = tmp_path / request.param
    folder.mkdir()
    broker = Mosquitto(folder) if request.param == "mosquitto" else NatsServer(folder)
    broker.start()
    yield broker
    broker.stop()


def _publish_in_background(
    line_events: list[bytes], broker: Mosquitto | NatsServer, plant: str
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
    *,
    came_late: bool = False,
) -> None:
    """Wait for the line to be published and stored, stop the bridge, check every event."""
    publisher.join(120)
    assert published and published[0].published == len(line_events)
    wait_until(lambda: stored_count(engine) >= len(line_events), 60, "every event stored")
    time.sleep(0.5)  # anything repeated would be stored by now
    bridge.stop()
    _check_each_event_stored_once(engine, line_events, came_late=came_late)


def _check_each_event_stored_once(
    engine: Engine, line_events: list[bytes], *, came_late: bool = False
) -> None:
    """Every event stored once, projections as a rebuild makes them, and no dead letters;
    `came_late`: unless refused for coming before the events they follow, then stored (the
    letter resolved) once those came late (nats-server delivers again after `ack_wait`)."""
    ids = [line.split(b'"id":"', 1)[1].split(b'"', 1)[0].decode() for line in line_events]
    with engine.connect() as connection:
        stored = list(connection.execute(select(events.c.event_id)).scalars())
        distinct = connection.execute(
            select(func.count(func.distinct(events.c.event_id)))
        ).scalar_one()
    assert len(stored) == distinct == len(ids)
    assert set(stored) == set(ids)
    letters = list_dead_letters(engine, None)
    if came_late:
        assert [d for d in letters if d.status != "resolved" or not is_retryable(d.reason)] == []
    else:
        assert [(d.reason, d.detail) for d in letters] == []
    projections = snapshot(engine)
    rebuild(engine)
    assert snapshot(engine) == projections


def test_bridge_killed_mid_stream_loses_and_repeats_nothing(
    any_broker: Mosquitto | NatsServer,
    plant: Plant,
    store: tuple[str, Engine],
    line_events: list[bytes],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "linespeed.mqtt")
    url, engine = store
    bridge = BridgeProcess(any_broker, url, tmp_path / "bridge.out")
    bridge.start()
    publisher, published = _publish_in_background(line_events, any_broker, plant.plant)
    rng = random.Random(7)
    kills = 0
    while publisher.is_alive() and kills < 4:
        time.sleep(rng.uniform(0.5, 2.0))
        bridge.kill()
        kills += 1
        bridge.start()
    assert kills >= 3, "the line finished before the faults"
    nats = isinstance(any_broker, NatsServer)
    _finish_line(publisher, published, bridge, engine, line_events, came_late=nats)
    version = "MQTT 3.1.1" if isinstance(any_broker, NatsServer) else "MQTT 5"
    assert {line.split(b" over ")[1].split(b";")[0] for line in bridge.ready_lines} == {
        version.encode()
    }
    assert len(bridge.logged) == (bridge.starts if version == "MQTT 3.1.1" else 0)
    logged = [record.getMessage() for record in caplog.records]
    fell_back = [message for message in logged if "connecting with MQTT 3.1.1" in message]
    assert fell_back == (
        [f"the broker at {any_broker.url} refused MQTT 5 for 'line' (unacceptable protocol "
         "version (0x01)); connecting with MQTT 3.1.1"]
        if version == "MQTT 3.1.1" else []
    )  # fmt: skip


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
