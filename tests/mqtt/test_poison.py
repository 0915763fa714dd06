"""A poison message between good ones: the good ones stored, the poison dead-lettered and
acknowledged, the bridge still up. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import Engine

from linespeed.bridges.mqtt import BridgeSettings
from linespeed.mqtt.broker import BrokerAddress
from linespeed.mqtt.connection import Connection
from linespeed.mqtt.topics import events_topic
from linespeed.plant.model import Plant
from linespeed.plant.vin import nth_vin
from linespeed.store.deadletters import list_dead_letters
from tests.backends import BACKENDS, store_url
from tests.conftest import make_store
from tests.mqtt.conftest import running_bridge, stored_count, wait_until

pytestmark = pytest.mark.service


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, own_plant: Plant, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "postgresql":
        from tests.backends import postgres_server_url

        postgres_server_url()
    with store_url(request.param, f"sqlite:///{tmp_path / 'poison.db'}") as url:
        engine = make_store(url, own_plant)
        yield engine
        engine.dispose()


def test_poison_messages_are_dead_lettered_and_the_bridge_stays_up(
    mqtt_broker: BrokerAddress, own_plant: Plant, store: Engine
) -> None:
    now = datetime.now(UTC)
    vin = nth_vin(own_plant, "s7", 1)
    stations = [station.id for station in own_plant.lines[0].stations if not station.optional]

    def good(number: int, station: str) -> bytes:
        moment = (now - timedelta(minutes=60 - number)).isoformat()
        return msgspec.json.encode(
            {"id": f"g-{number}", "ts": moment, "kind": "station.completed", "vin": vin,
             "station": station, "result": "ok"}
        )  # fmt: skip

    def state(station: str, **fields: object) -> bytes:
        body = {"id": "p", "ts": now.isoformat(), "kind": "station.state", "station": station,
                "state": "down", **fields}  # fmt: skip
        return msgspec.json.encode(body)

    plant_id = own_plant.plant
    first = stations[0]
    poisons = [
        (first, state(first, ts="0001-01-01T00:00:00+14:00"), "ts.out_of_range"),
        (first, state(first, ts="9999-12-31T23:59:59-01:00"), "ts.out_of_range"),
        (first, state(first, ts=(now + timedelta(days=1)).isoformat()), "ts.out_of_range"),
        (first, state(first, ts="2024-01-01T00:00:00Z"), "ts.out_of_range"),
        (first, b"[" * 100_000 + b"]" * 100_000, "event.not_object"),
        (
            first,
            b'{"id": "p", "reason": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            "json.too_deep",
        ),
        (first, state(first, reason="a\x00b"), "field.invalid"),
    ]
    started = msgspec.json.encode(
        {"id": "s-1", "ts": (now - timedelta(hours=2)).isoformat(), "kind": "unit.started",
         "vin": vin, "model": "s7", "color": "pearl-white"}
    )  # fmt: skip
    messages = [(events_topic(plant_id, "l1", None), started)]
    for number, station in enumerate(stations[: len(poisons)]):
        messages.append((events_topic(plant_id, "l1", station), good(number, station)))
        poison_station, poison, _reason = poisons[number]
        messages.append((events_topic(plant_id, "l1", poison_station), poison))
    messages.append((events_topic(plant_id, "BOGUS", first), state(first, id="bogus")))
    expected_reasons = [reason for _station, _poison, reason in poisons] + ["line.unknown"]

    settings = BridgeSettings(mqtt_broker, client_id=f"test-{plant_id}")
    with running_bridge(store, settings) as bridge:
        publisher = Connection(mqtt_broker, f"poison-{plant_id}")
        publisher.open()
        for topic, body in messages:
            publisher.publish(topic, body)
            publisher.drain(10)
        publisher.close()
        wait_until(lambda: bridge.report.messages == len(messages), 30, "the bridge")

    assert stored_count(store) == 1 + len(poisons)
    assert [letter.reason for letter in list_dead_letters(store)] == expected_reasons
    assert bridge.report.rejected == len(expected_reasons)
