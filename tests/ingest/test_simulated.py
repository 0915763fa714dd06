"""Simulated events (`"simulated": true`) go only into a store made with `init --simulation`."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

import msgspec
import pytest
from sqlalchemy import Engine, select

from linespeed.events.codec import decode_event, encode_event
from linespeed.ingest.core import Ingestor, RawEvent
from linespeed.plant.model import Plant
from linespeed.sim.emit import event_lines
from linespeed.sim.example import ExampleSettings, example_events
from linespeed.sim.run import simulate
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, load_scenario
from linespeed.store.bodies import canonical_body
from linespeed.store.deadletters import list_dead_letters
from linespeed.store.schema import events
from tests.conftest import make_store, snapshot

SIMULATED_EVENTS = 400


@pytest.fixture(scope="module")
def simulated() -> list[bytes]:
    """The first events of the bundled scenario's line, as the simulator writes them."""
    run = simulate(load_scenario(DEFAULT_SCENARIO_PATH), days=2)
    return list(islice(event_lines(run), SIMULATED_EVENTS))


@pytest.fixture
def simulation_store(db_url: str, plant: Plant) -> Iterator[Engine]:
    """A simulation store (`linespeed init --simulation`) on the test's backend."""
    store = make_store(db_url, plant, simulation=True)
    yield store
    store.dispose()


def _ingest(engine: Engine, payloads: list[bytes]) -> list[tuple[str, str | None]]:
    batch = [RawEvent(item, f"test:{number}") for number, item in enumerate(payloads, 1)]
    return [(outcome.status, outcome.reason) for outcome in Ingestor(engine).ingest(batch)]


def _bodies(engine: Engine) -> list[str]:
    """The canonical JSON of every stored event, as the log gives it back."""
    columns = events.c.kind, events.c.event_id, events.c.ts, events.c.body
    with engine.connect() as connection:
        rows = connection.execute(select(*columns).order_by(events.c.seq))
        return [canonical_body(*row) for row in rows]


def test_a_real_store_refuses_simulated_events_and_stores_nothing_of_them(
    memory_engine: Engine, simulated: list[bytes]
) -> None:
    before = snapshot(memory_engine, skip=["dead_letters"])

    outcomes = _ingest(memory_engine, simulated)

    assert outcomes == [("rejected", "event.simulated")] * len(simulated)
    assert snapshot(memory_engine, skip=["dead_letters"]) == before
    letters = list_dead_letters(memory_engine)
    assert [(letter.reason, letter.raw.encode()) for letter in letters] == [
        ("event.simulated", line) for line in simulated
    ]
    assert "init --simulation" in letters[0].detail


def test_a_simulation_store_accepts_them_with_their_mark(
    simulation_store: Engine, simulated: list[bytes]
) -> None:
    assert _ingest(simulation_store, simulated) == [("accepted", None)] * len(simulated)
    bodies = _bodies(simulation_store)
    assert len(bodies) == len(simulated)
    assert all(msgspec.json.decode(body)["simulated"] is True for body in bodies)


def test_real_events_beside_simulated_ones_are_stored_as_without_them(
    memory_engine: Engine, db_url: str, plant: Plant, simulated: list[bytes]
) -> None:
    real = [encode_event(event) for event in example_events(plant, ExampleSettings(cars=3))]
    mixed = [payload for pair in zip(real, simulated, strict=False) for payload in pair]
    mixed += real[len(simulated) :]

    outcomes = _ingest(memory_engine, mixed)

    assert outcomes == [
        ("rejected", "event.simulated") if payload in simulated else ("accepted", None)
        for payload in mixed
    ]
    alone = make_store(db_url, plant)
    assert _ingest(alone, real) == [("accepted", None)] * len(real)
    assert _bodies(memory_engine) == _bodies(alone)
    alone.dispose()


def test_simulated_false_is_a_real_event_stored_without_the_field(
    memory_engine: Engine, plant: Plant
) -> None:
    first = next(example_events(plant, ExampleSettings(cars=1)))
    marked_false = msgspec.json.encode(msgspec.to_builtins(first) | {"simulated": False})

    assert _ingest(memory_engine, [marked_false, encode_event(first)]) == [
        ("accepted", None),
        ("duplicate", None),
    ]
    stored_form = encode_event(decode_event(encode_event(first))).decode()  # in UTC
    assert _bodies(memory_engine) == [stored_form]
    assert "simulated" not in stored_form
