"""The same events arriving over MQTT, HTTP and a file, one after another and all at once:
each is stored once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from linespeed.access.tokens import create_token
from linespeed.api.app import ApiSettings, create_app
from linespeed.bridges.mqtt import BridgeSettings
from linespeed.ingest.core import Ingestor
from linespeed.ingest.files import ingest_files
from linespeed.mqtt.connection import Connection
from linespeed.mqtt.topics import events_topic
from linespeed.plant.model import Plant
from linespeed.store.deadletters import list_dead_letters
from linespeed.store.schema import events
from tests.conftest import make_store, payload
from tests.ingest.line import full_line, start, vin
from tests.mqtt.conftest import Mosquitto, report_total, running_bridge, wait_until

pytestmark = pytest.mark.service


def test_the_same_events_over_mqtt_http_and_a_file_are_stored_once(
    own_broker: Mosquitto, plant: Plant, tmp_path: Path
) -> None:
    engine = make_store(f"sqlite:///{tmp_path / 'three.db'}", plant)
    cars = [vin(plant, "s7", number) for number in (1, 2)]
    first = [start(plant, "s7", 1), *full_line(plant, cars[0])]
    second = [start(plant, "s7", 2), *full_line(plant, cars[1])]
    token = create_token(engine, "operator").token
    publisher = Connection(own_broker.address, "three-ways")
    publisher.open()

    def over_mqtt(stream: list[dict[str, object]]) -> None:
        for event in stream:
            station = event.get("station")
            topic = events_topic(plant.plant, "l1", station if isinstance(station, str) else None)
            publisher.publish(topic, payload(event))
            publisher.drain(10)

    def over_http(client: TestClient, stream: list[dict[str, object]]) -> None:
        body = b"[" + b",".join(payload(event) for event in stream) + b"]"
        answer = client.post(
            "/api/v1/events",
            content=body,
            headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
        )
        assert answer.status_code == 200, answer.text

    def from_file(stream: list[dict[str, object]], name: str) -> None:
        path = tmp_path / name
        path.write_bytes(b"\n".join(payload(event) for event in stream) + b"\n")
        assert ingest_files(Ingestor(engine), [path]).rejected == 0

    with (
        TestClient(create_app(engine, ApiSettings(live_window=None))) as client,
        running_bridge(engine, BridgeSettings(own_broker.address, live_window=None)) as bridge,
    ):
        # one after another, each way first once
        over_mqtt(first)
        wait_until(lambda: report_total(bridge.report) == len(first), 20, "the bridge")
        over_http(client, first)
        from_file(first, "first.jsonl")
        from_file(second, "second.jsonl")
        over_mqtt(second)
        over_http(client, second)
        wait_until(lambda: report_total(bridge.report) == len(first) + len(second), 20, "MQTT")
        # all at once
        third = [start(plant, "s7", 3), *full_line(plant, vin(plant, "s7", 3))]
        ways = [
            threading.Thread(target=over_mqtt, args=(third,)),
            threading.Thread(target=over_http, args=(client, third)),
            threading.Thread(target=from_file, args=(third, "third.jsonl")),
        ]
        for way in ways:
            way.start()
        for way in ways:
            way.join(30)
        wait_until(lambda: report_total(bridge.report) == 2 * len(first) + len(third), 20, "MQTT")
    publisher.close()

    assert bridge.report.rejected == 0
    assert list_dead_letters(engine, None) == []
    with engine.connect() as connection:
        stored = sorted(connection.execute(select(events.c.event_id)).scalars())
    assert stored == sorted(str(event["id"]) for event in [*first, *second, *third])
    engine.dispose()
