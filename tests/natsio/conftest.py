"""NATS test services: the machine's server, servers of our own (clusters, leaf nodes), helpers.

Tests of the simple path read LINESPEED_TEST_NATS_URL (`make test` sets it when the machine's
server answers); fault tests start `nats-server`s of their own on free loopback ports with
their stores in a temp folder. Without either they skip, except under CI (`CI=true`), where
they fail.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import nats
import pytest
from sqlalchemy import Engine, func, select

from linespeed.bridges.nats import NatsBridge, NatsBridgeSettings, NatsReport
from linespeed.natsio.server import NatsBusyError, NatsError
from linespeed.natsio.streams import StreamPlan, StreamState, set_up_streams
from linespeed.natsio.sync import run_sync
from linespeed.plant.model import Plant
from linespeed.store.schema import events

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
LINESPEED = str(Path(sys.executable).parent / "linespeed")
T = TypeVar("T")


def unavailable(why: str) -> None:
    """Skip the test for want of a service; under CI, fail it."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"under CI the NATS tests must run: {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def nats_url() -> str:
    """The machine's NATS server (JetStream on), from LINESPEED_TEST_NATS_URL."""
    url = os.environ.get("LINESPEED_TEST_NATS_URL")
    if not url:
        unavailable("set LINESPEED_TEST_NATS_URL (e.g. nats://127.0.0.1:4222) to run")
    return url or ""


@pytest.fixture
def own_plant(plant: Plant) -> Plant:
    """The default plant under an id of its own, so its stream is this test's alone."""
    return plant.model_copy(update={"plant": f"t{uuid.uuid4().hex[:10]}"})


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end (each test's NATS calls on a loop of their own, also when
    the browser tests' driver left an event loop running in this thread)."""
    return run_sync(coroutine)


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.05)


def stored_count(engine: Engine) -> int:
    """How many events the store holds."""
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(events)).scalar_one())


def distinct_ids(engine: Engine) -> int:
    """How many different event ids the store holds."""
    with engine.connect() as connection:
        query = select(func.count(func.distinct(events.c.event_id)))
        return int(connection.execute(query).scalar_one())


class NatsServer:
    """A `nats-server` of our own: JetStream in a temp folder, optional cluster, leaf, MQTT."""

    def __init__(self, folder: Path, name: str, config: str = "") -> None:
        if not Path(NATS_SERVER).exists():
            unavailable("nats-server is not installed (it is on the CI machine's path)")
        self.folder = folder
        self.name = name
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.config = folder / f"{name}.conf"
        self.log = folder / f"{name}.log"
        self.extra = config
        self.process: subprocess.Popen[bytes] | None = None

    def write_config(self, jetstream: str = "") -> None:
        """Write the server's configuration file."""
        store = self.folder / f"js-{self.name}"
        self.config.write_text(
            f"listen: 127.0.0.1:{self.port}\n"
            f"server_name: {self.name}\n"
            f'jetstream {{\n  store_dir: "{store}"\n  {jetstream}\n}}\n'
            f"{self.extra}\n",
            encoding="utf-8",
        )

    def start(self, *, wait: bool = True) -> None:
        """Start (or start again) the server; wait until it takes connections."""
        if not self.config.exists():
            self.write_config()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [NATS_SERVER, "-c", str(self.config)], stdout=log, stderr=log
            )
        if wait:
            wait_until(self.answers, 10.0, f"nats-server {self.name} to listen")

    def answers(self) -> bool:
        """Whether the server takes connections."""
        with socket.socket() as probe:
            probe.settimeout(0.2)
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """Stop the server cleanly."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def js_ready(url: str, domain: str | None = None) -> bool:
    """Whether JetStream at `url` answers (its meta leader is elected)."""

    async def ask() -> bool:
        try:
            client = await nats.connect(url, connect_timeout=1, allow_reconnect=False)
        except Exception:
            return False
        try:
            await client.jetstream(domain=domain, timeout=1).account_info()
            return True
        except Exception:
            return False
        finally:
            await client.close()

    return run(ask())


@pytest.fixture
def own_servers(tmp_path: Path) -> Iterator[list[NatsServer]]:
    """Servers a test starts (append them); every one is killed when the test ends."""
    servers: list[NatsServer] = []
    yield servers
    for server in servers:
        server.kill()


def cluster(folder: Path, servers: list[NatsServer], size: int = 3) -> list[NatsServer]:
    """A JetStream cluster of `size` servers on loopback, started, its meta leader elected."""
    route_ports = [free_port() for _ in range(size)]
    routes = ", ".join(f"nats-route://127.0.0.1:{port}" for port in route_ports)
    nodes = []
    for number, route_port in enumerate(route_ports, 1):
        node = NatsServer(
            folder,
            f"n{number}",
            f"cluster {{ name: c1, listen: 127.0.0.1:{route_port}, routes: [{routes}] }}",
        )
        servers.append(node)
        nodes.append(node)
    for node in nodes:
        node.start()
    wait_until(lambda: js_ready(nodes[0].url), 30.0, "the cluster's JetStream meta leader")
    return nodes


def set_up_placed(url: str, plan: StreamPlan, timeout_s: float = 30.0) -> list[StreamState]:
    """`set_up_streams`, tried again while a new cluster cannot place the streams' replicas
    yet (its meta leader does not know every server: "no suitable peers for placement") or
    JetStream is busy; fails the test after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return set_up_streams(url, plan)
        except NatsError as error:
            placing = isinstance(error, NatsBusyError) or "no suitable peers" in error.message
            if not placing:
                raise
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout_s:g} s setting up the streams: {error}")
        time.sleep(0.2)


class ThreadBridge:
    """A NATS bridge in a thread of this process, stopped at the end of the test."""

    def __init__(self, engine: Engine, settings: NatsBridgeSettings) -> None:
        self.bridge = NatsBridge(engine, settings)
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.bridge.run(self.stop, on_ready=lambda _reading: self.ready.set())
        except BaseException as error:
            self.error = error
            self.ready.set()

    def __enter__(self) -> ThreadBridge:
        self.thread.start()
        assert self.ready.wait(20.0), "the bridge did not start"
        if self.error is not None:
            raise self.error
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(30.0)
        assert not self.thread.is_alive(), "the bridge did not stop"

    @property
    def report(self) -> NatsReport:
        """What the bridge has ingested so far."""
        return self.bridge.report


@functools.cache
def line_events(days: float, seed: int | None = None) -> tuple[bytes, ...]:
    """`days` of the bundled scenario's line, as JSON event lines (about 1,500 a day)."""
    from linespeed.sim.emit import event_lines
    from linespeed.sim.run import simulate
    from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, load_scenario

    return tuple(event_lines(simulate(load_scenario(DEFAULT_SCENARIO_PATH), days=days, seed=seed)))


def _remaining_length(size: int) -> bytes:
    """MQTT's variable-length encoding of a packet's remaining length."""
    encoded = bytearray()
    while True:
        size, digit = divmod(size, 128)
        encoded.append(digit | (0x80 if size else 0))
        if not size:
            return bytes(encoded)


def _text(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return len(raw).to_bytes(2, "big") + raw


def mqtt311_publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    """Publish `messages` (topic, payload) to 127.0.0.1:`port` as a device does: MQTT 3.1.1,
    QoS 1, each acknowledged (PUBACK) before the next. Fails the test if one is not."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as device:
        body = _text("MQTT") + bytes([4, 0x02]) + (60).to_bytes(2, "big")
        body += _text(f"device-{uuid.uuid4().hex[:8]}")
        device.sendall(bytes([0x10]) + _remaining_length(len(body)) + body)
        assert device.recv(4) == b"\x20\x02\x00\x00", "the MQTT listener refused the device"
        for number, (topic, payload) in enumerate(messages, 1):
            body = _text(topic) + number.to_bytes(2, "big") + payload
            device.sendall(bytes([0x32]) + _remaining_length(len(body)) + body)
            assert device.recv(4) == b"\x40\x02" + number.to_bytes(2, "big"), topic
        device.sendall(b"\xe0\x00")
