"""MQTT test services: the machine's broker, brokers of our own, bridges run in a thread.

Tests that need a broker read LINESPEED_TEST_MQTT_URL (`make test` sets it when the
machine's broker answers); tests that restart a broker start their own Mosquitto on a free
loopback port, and tests of MQTT 3.1.1 their own nats-server (JetStream and its MQTT
listener, which speaks only 3.1.1). Without them they skip, except under CI (`CI=true`),
where they fail.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from linespeed.bridges.mqtt import BridgeReport, BridgeSettings, MqttBridge
from linespeed.mqtt.broker import BrokerAddress, parse_broker_url
from linespeed.mqtt.connection import Connection
from linespeed.plant.model import Plant
from linespeed.store.schema import events

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
NATS_SERVER = shutil.which("nats-server") or "/usr/local/bin/nats-server"
NATS_ACK_WAIT_S = 2
"""How long nats-server waits for an acknowledgement before it delivers a message again
(30 s by default): short, so a killed bridge's messages come back within the test."""


def unavailable(why: str) -> None:
    """Skip the test for want of a service; under CI, fail it."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"under CI the MQTT tests must run: {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def mqtt_broker() -> BrokerAddress:
    """The machine's broker, from LINESPEED_TEST_MQTT_URL."""
    url = os.environ.get("LINESPEED_TEST_MQTT_URL")
    if not url:
        unavailable("set LINESPEED_TEST_MQTT_URL (e.g. mqtt://127.0.0.1:1883) to run")
    return parse_broker_url(url or "")


@pytest.fixture
def own_plant(plant: Plant) -> Plant:
    """The default plant under an id of its own, so its topics are this test's alone."""
    return plant.model_copy(update={"plant": f"t{uuid.uuid4().hex[:10]}"})


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.02)


class Mosquitto:
    """A Mosquitto of our own on a free loopback port, persistent, queueing without limit."""

    def __init__(self, folder: Path) -> None:
        if not Path(MOSQUITTO).is_file():
            unavailable(f"Mosquitto is not installed ({MOSQUITTO}); `make test` installs it")
        self.folder = folder
        self.port = free_port()
        self.address = BrokerAddress("127.0.0.1", self.port)
        self.url = str(self.address)
        self.config = folder / "mosquitto.conf"
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "persistence true",
            f"persistence_location {folder}/",
            "max_queued_messages 0",
            "log_dest file " + str(folder / "mosquitto.log"),
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to `mosquitto`, who cannot write here
        self.config.write_text("\n".join(lines) + "\n")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the broker and wait until it accepts connections."""
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)])

        def listening() -> bool:
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", self.port)) == 0

        wait_until(listening, 10, f"Mosquitto on port {self.port}")

    def stop(self) -> None:
        """Stop the broker cleanly (it saves its queues and sessions)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        """Stop the broker, then start it again on the same port."""
        self.stop()
        self.start()


class NatsServer:
    """A nats-server of our own with JetStream and an MQTT listener (3.1.1) on loopback."""

    def __init__(self, folder: Path) -> None:
        if not Path(NATS_SERVER).is_file():
            unavailable(f"nats-server is not installed ({NATS_SERVER})")
        self.folder = folder
        self.port = free_port()
        self.address = BrokerAddress("127.0.0.1", self.port)
        self.url = str(self.address)
        self.config = folder / "nats.conf"
        self.config.write_text(
            f"listen: 127.0.0.1:{free_port()}\n"
            "server_name: linespeed-test\n"
            f'jetstream {{ store_dir: "{folder / "js"}" }}\n'
            f'mqtt {{ listen: 127.0.0.1:{self.port}, ack_wait: "{NATS_ACK_WAIT_S}s" }}\n'
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and wait until its MQTT listener accepts connections."""
        with (self.folder / "nats.log").open("ab") as log:
            self.process = subprocess.Popen(
                [NATS_SERVER, "-c", str(self.config)], stdout=log, stderr=log
            )

        def listening() -> bool:
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", self.port)) == 0

        wait_until(listening, 10, f"nats-server's MQTT listener on port {self.port}")

    def stop(self) -> None:
        """Stop the server (its JetStream store keeps the sessions and messages)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(10)
        self.process = None


@pytest.fixture
def nats_mqtt(tmp_path: Path) -> Iterator[NatsServer]:
    """A running nats-server of the test's own, its MQTT listener speaking 3.1.1 only."""
    folder = tmp_path / "nats"
    folder.mkdir()
    server = NatsServer(folder)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A running Mosquitto of the test's own."""
    folder = tmp_path / "mosquitto"
    folder.mkdir()
    broker = Mosquitto(folder)
    broker.start()
    yield broker
    broker.stop()


def forget_session(broker: BrokerAddress, client_id: str) -> None:
    """End a persistent session on the broker (so tests leave none behind)."""
    connection = Connection(broker, client_id)  # clean start, session ends at disconnect
    try:
        connection.open()
    finally:
        connection.close()


@contextmanager
def running_bridge(engine: Engine, settings: BridgeSettings) -> Iterator[MqttBridge]:
    """A bridge running in a thread until the block ends; its errors are raised then."""
    bridge = MqttBridge(engine, settings)
    stop = threading.Event()
    ready = threading.Event()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            bridge.run(stop, on_ready=lambda _subscription: ready.set())
        except BaseException as error:  # handed to the test
            failures.append(error)
            ready.set()

    thread = threading.Thread(target=run, name="test-bridge")
    thread.start()
    try:
        ready.wait(15)
        if failures:
            raise failures[0]
        yield bridge
    finally:
        stop.set()
        thread.join(15)
    if failures:
        raise failures[0]


def stored_count(engine: Engine) -> int:
    """How many events the store holds."""
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(events)).scalar_one())


def report_total(report: BridgeReport) -> int:
    """Payloads a bridge has ingested, whatever became of them."""
    return report.accepted + report.duplicates + report.rejected
