"""Faults with real processes: a lost stream leader, killed ingests, a plant cut off from
headquarters. `linespeed nats ingest` runs as a process of its own and is SIGKILLed; the
`nats-server`s are the test's own, on free loopback ports. Every event must be stored
exactly once, with nothing refused.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest
from sqlalchemy import Engine

from linespeed.natsio.lease import lease_bucket
from linespeed.natsio.publisher import publish_event_lines
from linespeed.natsio.streams import StreamPlan, set_up_streams
from linespeed.plant.model import Plant
from linespeed.store.deadletters import list_dead_letters
from tests.conftest import make_store
from tests.natsio.conftest import (
    LINESPEED,
    NatsServer,
    cluster,
    distinct_ids,
    free_port,
    js_ready,
    line_events,
    mqtt311_publish,
    run,
    set_up_placed,
    stored_count,
    wait_until,
)

pytestmark = [pytest.mark.service, pytest.mark.slow]
PLANT = "yz1"
"""The bundled plant's id: these servers are the test's own."""
ACK_WAIT_S = 2.0


@pytest.fixture
def store(db_url: str, plant: Plant) -> Iterator[Engine]:
    """A simulation store holding the bundled plant."""
    engine = make_store(db_url, plant, simulation=True)
    yield engine
    engine.dispose()


class IngestProcess:
    """`linespeed nats ingest` as a process of its own, started and killed at will."""

    def __init__(self, server_url: str, db_url: str, log: Path, *extra: str) -> None:
        self.command = [
            LINESPEED,
            "nats",
            "ingest",
            "--server",
            server_url,
            "--max-age-days",
            "0",
            "--batch-size",
            "50",
            "--ack-wait-s",
            str(ACK_WAIT_S),
            "--json",
            *extra,
        ]
        self.env = {**os.environ, "LINESPEED_DB": db_url}
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> IngestProcess:
        """Start the ingest and wait until its consumer holds."""
        self.process = subprocess.Popen(
            self.command, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert self.process.stderr is not None
        said = b""
        while not said.endswith(b"Ctrl-C to stop\n"):  # after warnings of a busy JetStream
            line = self.process.stderr.readline()
            said += line
            assert line, said  # it stopped: the error is in what it said
        with self.log.open("ab") as log:
            log.write(said)
        threading.Thread(target=self._drain, args=(self.process.stderr,), daemon=True).start()
        return self

    def _drain(self, stream: Any) -> None:
        with self.log.open("ab") as log:
            for line in stream:
                log.write(line)

    @property
    def pid(self) -> int:
        """The process id."""
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no chance to finish a batch or acknowledge."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.communicate(timeout=10)

    def stop(self) -> dict[str, Any]:
        """SIGTERM, then the report it prints."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=30)
        assert self.process.returncode == 0, self.log.read_text()
        report: dict[str, Any] = json.loads(out)
        return report


@pytest.fixture
def ingests() -> Iterator[list[IngestProcess]]:
    """Ingest processes a test starts (append them); each is killed at the end."""
    started: list[IngestProcess] = []
    yield started
    for process in started:
        process.kill()


def assert_stored_once(store: Engine, count: int) -> None:
    """Every one of `count` events is stored exactly once, and none was refused."""
    assert stored_count(store) == distinct_ids(store) == count
    assert [(letter.reason, letter.detail) for letter in list_dead_letters(store)] == []


def stream_leader(url: str, stream: str) -> str:
    """The name of the server leading `stream`."""

    async def ask() -> str:
        client = await nats.connect(url)
        info = await client.jetstream().stream_info(stream)
        await client.close()
        assert info.cluster is not None and info.cluster.leader
        return info.cluster.leader

    return run(ask())


def test_a_lost_stream_leader_and_a_killed_ingest_lose_nothing(
    tmp_path: Path,
    own_servers: list[NatsServer],
    ingests: list[IngestProcess],
    store: Engine,
    db_url: str,
) -> None:
    nodes = cluster(tmp_path, own_servers)
    set_up_placed(nodes[0].url, StreamPlan((PLANT,), replicas=3))
    lines = line_events(3)
    sent = publish_event_lines(lines, nodes[0].url, PLANT)
    assert sent.published == len(lines)

    first = IngestProcess(nodes[0].url, db_url, tmp_path / "ingest.log").start()
    ingests.append(first)
    wait_until(lambda: stored_count(store) > len(lines) // 20, 60.0, "the first events")
    first.kill()
    leader = next(node for node in nodes if node.name == stream_leader(nodes[0].url, "LS_YZ1"))
    leader.kill()
    assert stored_count(store) < len(lines), "the faults came too late to fall mid-stream"

    survivor = next(node for node in nodes if node is not leader)
    second = IngestProcess(survivor.url, db_url, tmp_path / "ingest.log").start()
    ingests.append(second)
    wait_until(lambda: stored_count(store) > len(lines) // 2, 60.0, "half the events")
    leader.start()
    wait_until(lambda: stored_count(store) == len(lines), 90.0, "every event")
    report = second.stop()
    assert report["rejected"] == 0
    assert_stored_once(store, len(lines))


def test_headquarters_catches_up_after_a_plant_was_cut_off(
    tmp_path: Path,
    own_servers: list[NatsServer],
    ingests: list[IngestProcess],
    store: Engine,
    db_url: str,
) -> None:
    leaf_port, mqtt_port = free_port(), free_port()
    hub = NatsServer(tmp_path, "hub", f"leafnodes {{ listen: 127.0.0.1:{leaf_port} }}")
    hub.write_config("domain: hq")
    plant = NatsServer(
        tmp_path,
        "plant",
        f'leafnodes {{ remotes: [ {{ url: "nats-leaf://127.0.0.1:{leaf_port}" }} ] }}\n'
        f"mqtt {{ listen: 127.0.0.1:{mqtt_port} }}",
    )
    plant.write_config(f"domain: {PLANT}")
    own_servers.extend([hub, plant])
    hub.start()
    plant.start()
    wait_until(lambda: js_ready(hub.url) and js_ready(plant.url), 30.0, "both JetStreams")
    set_up_streams(plant.url, StreamPlan((PLANT,)))
    wait_until(
        lambda: js_ready(hub.url, domain=PLANT), 30.0, "the plant's domain seen from headquarters"
    )
    set_up_streams(hub.url, StreamPlan((PLANT,), hq=True))

    lines = line_events(3)
    half = len(lines) // 2
    # the first events as devices send them: MQTT 3.1.1, QoS 1, on today's topics
    device_messages = []
    for line in lines[:10]:
        event = msgspec.json.decode(line)
        topic = f"linespeed/v1/{PLANT}/{event['line']}/{event.get('station', '_')}/events"
        device_messages.append((topic, line))
    mqtt311_publish(mqtt_port, device_messages)
    publish_event_lines(lines[10:half], plant.url, PLANT)

    ingest = IngestProcess(hub.url, db_url, tmp_path / "ingest.log", "--hq").start()
    ingests.append(ingest)
    wait_until(lambda: stored_count(store) == half, 60.0, "the first half at headquarters")

    hub.kill()  # the plant is cut off; its line goes on publishing
    publish_event_lines(lines[half:], plant.url, PLANT)
    hub.start()
    wait_until(lambda: stored_count(store) == len(lines), 90.0, "headquarters to catch up")
    report = ingest.stop()
    assert report["rejected"] == 0
    assert_stored_once(store, len(lines))


def test_two_ingests_on_one_durable_consumer_one_dies_the_other_goes_on(
    tmp_path: Path,
    own_servers: list[NatsServer],
    ingests: list[IngestProcess],
    store: Engine,
    db_url: str,
) -> None:
    server = NatsServer(tmp_path, "single")
    own_servers.append(server)
    server.start()
    wait_until(lambda: js_ready(server.url), 30.0, "JetStream")
    set_up_streams(server.url, StreamPlan((PLANT,)))
    lines = line_events(3)
    pair = [
        IngestProcess(server.url, db_url, tmp_path / f"ingest-{n}.log", "--durable", "shared")
        for n in (1, 2)
    ]
    for process in pair:
        ingests.append(process.start())
    # published once both run: the reader cannot be through them before the standby is up
    publish_event_lines(lines, server.url, PLANT)

    async def holder() -> str:
        """The lease's holder once the first events are stored (the bucket found before, so
        that the reader is killed at once, mid-stream)."""
        client = await nats.connect(server.url)
        kv = await client.jetstream().key_value(lease_bucket("LS_YZ1", "shared"))
        wait_until(lambda: stored_count(store) > len(lines) // 20, 60.0, "the first events")
        entry = await kv.get("holder")
        await client.close()
        return (entry.value or b"").decode()

    held_by = run(holder())
    reading = next(process for process in pair if f":{process.pid}:" in held_by)
    reading.kill()
    assert stored_count(store) < len(lines), "the reader died too late to fall mid-stream"
    standby = next(process for process in pair if process is not reading)
    wait_until(lambda: stored_count(store) == len(lines), 60.0, "the standby to finish")
    report = standby.stop()
    assert report["rejected"] == 0 and report["accepted"] > 0
    assert_stored_once(store, len(lines))
