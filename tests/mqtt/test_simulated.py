"""A simulator publishing on a real plant's topics is dead-lettered, and the bridge stays up."""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import select

from linespeed.bridges.mqtt import BridgeSettings
from linespeed.errors import LinespeedError
from linespeed.events.codec import encode_event
from linespeed.events.types import StationState
from linespeed.mqtt.broker import BrokerAddress
from linespeed.mqtt.connection import Connection
from linespeed.mqtt.topics import deadletters_topic, events_topic
from linespeed.plant.model import Plant
from linespeed.sim.example import ExampleSettings, example_events
from linespeed.sim.publish import publish_events
from linespeed.store.deadletters import list_dead_letters
from linespeed.store.schema import events
from tests.cli.conftest import run
from tests.conftest import make_store
from tests.mqtt.conftest import (
    Mosquitto,
    forget_session,
    report_total,
    running_bridge,
    stored_count,
    wait_until,
)
from tests.mqtt.test_bridge import Listener

__all__ = ["run"]

pytestmark = pytest.mark.service

SIMULATED_EVENTS = 300


@pytest.fixture(scope="module")
def simulated() -> list[bytes]:
    """The first events of the bundled scenario's line, as `simulate --mqtt` publishes them."""
    from linespeed.sim.emit import event_lines
    from linespeed.sim.run import simulate
    from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, load_scenario

    run_ = simulate(load_scenario(DEFAULT_SCENARIO_PATH), days=2)
    return list(islice(event_lines(run_), SIMULATED_EVENTS))


def _publish_real(broker: BrokerAddress, plant: Plant, stream: list[Any]) -> None:
    """Publish hand-made events of the plant's line on their stations' topics, in order."""
    publisher = Connection(broker, f"real-line-{plant.plant}")
    publisher.open()
    try:
        for event in stream:
            station = event.station if hasattr(event, "station") else None
            topic = events_topic(plant.plant, "l1", station)
            publisher.publish(topic, encode_event(event))
            publisher.drain(10)
    finally:
        publisher.close()


def test_a_simulator_on_a_real_plants_topics_is_dead_lettered_not_stored(
    mqtt_broker: BrokerAddress, own_plant: Plant, simulated: list[bytes], tmp_path: Path
) -> None:
    # finding 11: the bridge is stopped, its persistent session queues what the simulator
    # publishes on the plant's real topics, and the next bridge run gets all of it
    store = make_store(f"sqlite:///{tmp_path / 'real.db'}", own_plant)
    real = [
        event
        for event in example_events(own_plant, ExampleSettings(cars=2))
        if type(event) is not StationState
    ]
    half = len(real) // 2
    # the hand-made real events are dated 2025: no age limit here
    settings = BridgeSettings(mqtt_broker, client_id=f"test-{own_plant.plant}", live_window=None)
    listener = Listener(mqtt_broker, deadletters_topic(own_plant.plant))
    try:
        with running_bridge(store, settings):
            pass  # the session and its subscription now outlive the bridge
        _publish_real(mqtt_broker, own_plant, real[:half])
        sent = publish_events(simulated, mqtt_broker, own_plant.plant, speed=0)
        assert sent.published == len(simulated)
        _publish_real(mqtt_broker, own_plant, real[half:])
        total = len(real) + len(simulated)
        with running_bridge(store, settings) as bridge:
            wait_until(lambda: report_total(bridge.report) == total, 60, "the bridge")
            wait_until(lambda: len(listener.received) == len(simulated), 20, "the dead letters")
    finally:
        listener.close()
        forget_session(mqtt_broker, settings.client_id or "")

    assert bridge.report.as_dict() | {"batches": 0, "milestones_published": 0} == {
        "accepted": len(real),
        "duplicates": 0,
        "rejected": len(simulated),
        "reasons": {"event.simulated": len(simulated)},
        "messages": total,
        "batches": 0,
        "dead_letters_published": len(simulated),
        "dead_letters_unpublished": 0,
        "milestones_published": 0,
        "late_stored": 0,
    }
    assert stored_count(store) == len(real)
    with store.connect() as connection:
        bodies = connection.execute(select(events.c.body)).scalars().all()
    assert not any("simulated" in body for body in bodies)
    letters = list_dead_letters(store)
    assert sorted(letter.raw.encode() for letter in letters) == sorted(simulated)
    assert {letter.reason for letter in letters} == {"event.simulated"}
    published = [msgspec.json.decode(payload) for _topic, payload, _kept in listener.received]
    assert {letter["reason"] for letter in published} == {"event.simulated"}
    store.dispose()


def test_the_simulators_publisher_sends_only_marked_events(
    mqtt_broker: BrokerAddress, own_plant: Plant
) -> None:
    unmarked = encode_event(next(iter(example_events(own_plant, ExampleSettings(cars=1)))))
    with pytest.raises(LinespeedError, match="not marked simulated") as raised:
        publish_events([unmarked], mqtt_broker, own_plant.plant, default_line="l1", speed=0)
    assert raised.value.code == "sim.input"


def test_simulate_mqtt_publishes_every_event_marked(run: Any, own_broker: Mosquitto) -> None:
    listener = Listener(own_broker.address, events_topic("yz1", "+", "+"))
    try:
        result = run(
            "simulate", "--days", "1", "--detail", "units", "--mqtt", own_broker.url,
            "--speed", "0", "--json",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        count = result.json()["published"]["events"]
        assert count == result.json()["events"] > 0
        wait_until(lambda: len(listener.received) == count, 20, "the published events")
    finally:
        listener.close()
    payloads = [msgspec.json.decode(payload) for _topic, payload, _kept in listener.received]
    assert all(event["simulated"] is True for event in payloads)
