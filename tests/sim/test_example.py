"""The example stream: time-ordered, and every event is accepted by the rules."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Engine, func, select

from linespeed.plant.model import Plant
from linespeed.sim.example import ExampleSettings, example_events
from linespeed.store.schema import units
from tests.conftest import ingest


def test_example_stream_is_time_ordered_and_fully_accepted(engine: Engine, plant: Plant) -> None:
    stream = list(example_events(plant, ExampleSettings(cars=6)))
    assert [event.ts for event in stream] == sorted(event.ts for event in stream)
    outcomes = ingest(engine, stream)
    assert Counter(outcome.status for outcome in outcomes) == {"accepted": len(stream)}
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(units)).scalar() == 6
        statuses = connection.execute(select(units.c.status)).scalars().all()
    assert set(statuses) == {"shipped"}


def test_example_stream_is_reproducible(plant: Plant) -> None:
    first = list(example_events(plant, ExampleSettings(cars=3, seed=7)))
    again = list(example_events(plant, ExampleSettings(cars=3, seed=7)))
    assert first == again
