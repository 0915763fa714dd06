"""The bridge against a real broker: a simulated line in, the same store as from a file."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import Engine, select

from linespeed.bridges.mqtt import BridgeSettings
from linespeed.ingest.core import Ingestor
from linespeed.ingest.files import ingest_files
from linespeed.live import feed_after
from linespeed.mqtt.broker import BrokerAddress
from linespeed.mqtt.connection import Connection, Message
from linespeed.mqtt.topics import deadletters_topic, events_topic, milestones_topic
from linespeed.plant.model import Plant
from linespeed.sim.publish import publish_events
from linespeed.store.deadletters import list_dead_letters
from linespeed.store.schema import units
from tests.conftest import make_store, snapshot
from tests.mqtt.conftest import (
    Mosquitto,
    forget_session,
    report_total,
    running_bridge,
    stored_count,
    wait_until,
)

pytestmark = pytest.mark.service


@pytest.fixture(scope="session")
def line_events() -> list[bytes]:
    """Three days of the bundled scenario's line: about 4,500 events, 43 cars completed."""
    from linespeed.sim.emit import event_lines
    from linespeed.sim.run import simulate
    from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, load_scenario

    return list(event_lines(simulate(load_scenario(DEFAULT_SCENARIO_PATH), days=3)))


@pytest.fixture
def store(own_plant: Plant, tmp_path: Path) -> Iterator[Engine]:
    engine = make_store(f"sqlite:///{tmp_path / 'mqtt.db'}", own_plant, simulation=True)
    yield engine
    engine.dispose()


def _nth_completed_vin(engine: Engine, number: int) -> str:
    with engine.connect() as connection:
        return str(
            connection.execute(select(units.c.vin).where(units.c.completion_seq == number)).scalar()
        )


class Listener:
    """A client that collects what is published on some topics."""

    def __init__(self, broker: BrokerAddress, *topics: str) -> None:
        self.received: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self.connection = Connection(broker, f"listener-{uuid.uuid4().hex[:8]}")
        self.connection.on_message = self._on_message
        self.connection.open()
        for topic in topics:
            self.connection.subscribe(topic)

    def _on_message(self, message: Message) -> None:
        with self._lock:
            self.received.append((message.topic, message.payload, message.retain))

    def close(self) -> None:
        self.connection.close()


def test_a_line_over_mqtt_is_stored_as_its_file_would_be(
    mqtt_broker: BrokerAddress,
    own_plant: Plant,
    store: Engine,
    line_events: list[bytes],
    tmp_path: Path,
) -> None:
    settings = BridgeSettings(mqtt_broker, client_id=f"test-{own_plant.plant}", live_window=None)
    try:
        with running_bridge(store, settings) as bridge:
            sent = publish_events(line_events, mqtt_broker, own_plant.plant, speed=0)
            assert sent.published == len(line_events)
            wait_until(lambda: report_total(bridge.report) == sent.published, 60, "the bridge")
    finally:
        forget_session(mqtt_broker, settings.client_id or "")
    assert bridge.report.as_dict() | {"batches": 0} == {
        "accepted": len(line_events),
        "duplicates": 0,
        "rejected": 0,
        "reasons": {},
        "messages": len(line_events),
        "batches": 0,
        "dead_letters_published": 0,
        "dead_letters_unpublished": 0,
        "milestones_published": 1,  # car 1
        "late_stored": 0,
    }
    from_file = make_store(f"sqlite:///{tmp_path / 'file.db'}", own_plant, simulation=True)
    path = tmp_path / "line.jsonl"
    path.write_bytes(b"\n".join(line_events) + b"\n")
    ingest_files(Ingestor(from_file), [path])
    skip = ["plant_revisions"]  # loaded at other moments
    assert snapshot(store, skip=skip) == snapshot(from_file, skip=skip)


def test_milestone_cars_are_published_retained_per_line(
    mqtt_broker: BrokerAddress, plant: Plant, line_events: list[bytes], tmp_path: Path
) -> None:
    every_20 = plant.model_copy(
        update={
            "plant": f"t{uuid.uuid4().hex[:10]}",
            "milestones": plant.milestones.model_copy(update={"every": 20}),
        }
    )
    store = make_store(f"sqlite:///{tmp_path / 'm.db'}", every_20, simulation=True)
    settings = BridgeSettings(mqtt_broker, client_id=f"test-{every_20.plant}", live_window=None)
    try:
        with running_bridge(store, settings) as bridge:
            publish_events(line_events, mqtt_broker, every_20.plant, speed=0)
            wait_until(lambda: report_total(bridge.report) == len(line_events), 60, "the bridge")
    finally:
        forget_session(mqtt_broker, settings.client_id or "")
    assert bridge.report.milestones_published == 3  # cars 1, 20 and 40 of 43
    topic = milestones_topic(every_20.plant, "l1")
    late_comer = Listener(mqtt_broker, topic)
    try:
        wait_until(lambda: bool(late_comer.received), 10, "the retained milestone")
    finally:
        late_comer.close()
    ((received_topic, payload, retained),) = late_comer.received
    milestone = msgspec.json.decode(payload)
    assert (received_topic, retained) == (topic, True)
    assert {k: milestone[k] for k in ("plant", "line", "number", "vin")} == {
        "plant": every_20.plant,
        "line": "l1",
        "number": 40,
        "vin": _nth_completed_vin(store, 40),
    }
    assert milestone == _sse_milestones(store)[40]  # one payload for MQTT and the SSE feed
    cleaner = Connection(mqtt_broker, f"cleaner-{uuid.uuid4().hex[:8]}")
    cleaner.open()
    cleaner.publish(topic, b"", retain=True)
    cleaner.drain(10)
    cleaner.close()
    store.dispose()


def test_bad_messages_are_refused_with_reasons_acknowledged_and_kept(
    own_broker: Mosquitto, plant: Plant, tmp_path: Path
) -> None:
    store = make_store(f"sqlite:///{tmp_path / 'bad.db'}", plant)
    broker = own_broker.address
    good = msgspec.json.encode(
        {
            "id": "b-1",
            "ts": "2025-06-30T09:00:00+08:00",
            "kind": "unit.started",
            "line": "l1",
            "vin": "LSPA1S7E8SB000001",
            "model": "s7",
            "color": "pearl-white",
        }
    )
    at = events_topic("yz1", "l1", "body-020")
    completed = (
        b'{"id":"b-%d","ts":"2025-06-30T09:01:00+08:00","kind":"station.completed",'
        b'"line":"%s","vin":"LSPA1S7E8SB000001","station":"%s","result":"ok"}'
    )
    messages = [
        (events_topic("yz1", "l1", None), good),
        (at, b"not json at all"),
        (at, b"[" + b",".join([good] * 20) + b"]"),  # over the limit below
        (at, completed % (2, b"l2", b"body-020")),
        (at, completed % (3, b"l1", b"body-010")),
        (events_topic("yz1", "l1", None), completed % (4, b"l1", b"body-010")),
        (events_topic("zz9", "l1", "body-010"), completed % (5, b"l1", b"body-010")),
    ]
    listener = Listener(broker, deadletters_topic("yz1"), deadletters_topic("zz9"))
    settings = BridgeSettings(broker, plant="+", max_payload_bytes=1000, live_window=None)
    with running_bridge(store, settings) as bridge:
        publisher = Connection(broker, "bad-publisher")
        publisher.open()
        for topic, payload in messages:
            publisher.publish(topic, payload)
            publisher.drain(10)
        publisher.close()
        wait_until(lambda: bridge.report.messages == len(messages), 20, "the bridge")
        wait_until(lambda: len(listener.received) == 6, 10, "the dead letters")
    listener.close()
    expected = [
        ("json.malformed", at),
        ("payload.too_large", at),
        ("topic.mismatch", at),
        ("topic.mismatch", at),
        ("topic.mismatch", events_topic("yz1", "l1", None)),
        ("plant.unknown", events_topic("zz9", "l1", "body-010")),
    ]
    assert [(letter.reason, letter.source) for letter in list_dead_letters(store)] == expected
    published = [msgspec.json.decode(payload) for _topic, payload, _retained in listener.received]
    assert [(letter["reason"], letter["source"]) for letter in published] == expected
    assert [topic for topic, _payload, _retained in listener.received] == [
        deadletters_topic("yz1")
    ] * 5 + [deadletters_topic("zz9")]
    assert published[1]["detail"].startswith("message of 2")
    assert stored_count(store) == 1

    # every message was acknowledged: a new bridge on the same session gets none again
    with running_bridge(store, settings) as again:
        publisher = Connection(broker, "bad-publisher")
        publisher.open()
        publisher.publish(at, b"the last one")
        publisher.drain(10)
        publisher.close()
        wait_until(lambda: again.report.messages >= 1, 20, "the bridge")
    assert again.report.messages == 1
    store.dispose()


def _sse_milestones(store: Engine) -> dict[int, Any]:
    """The live feed's `milestone` messages by car number, as their JSON decodes."""
    found: dict[int, Any] = {}
    after = 0
    while True:
        messages, resume = feed_after(store, after)
        for message in messages:
            if message.event == "milestone":
                found[message.data["number"]] = msgspec.json.decode(
                    msgspec.json.encode(message.data)
                )
        if resume == after:
            return found
        after = resume
