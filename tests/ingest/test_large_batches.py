"""A large batch is checked in slices while the rows of the slice before are written: the
store ends exactly as after the same events in small batches."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from linespeed.events.codec import encode_event
from linespeed.ingest.core import Ingestor, RawEvent, batched
from linespeed.plant.model import Plant
from linespeed.sim.example import ExampleSettings, example_events
from tests.backends import store_url
from tests.conftest import make_store, snapshot

CARS = 40


def _items(plant: Plant) -> list[RawEvent]:
    return [
        RawEvent(encode_event(event), f"example:{number}")
        for number, event in enumerate(example_events(plant, ExampleSettings(cars=CARS)), 1)
    ]


@pytest.mark.slow
def test_one_large_batch_stores_what_small_batches_store(
    memory_engine: Engine, backend: str, plant: Plant, tmp_path: Path
) -> None:
    items = _items(plant)
    assert len(items) > 3_000  # several slices
    outcomes = Ingestor(memory_engine).ingest(items)
    assert [outcome.status for outcome in outcomes] == ["accepted"] * len(items)
    # the same events again: every one a duplicate, nothing written
    again = Ingestor(memory_engine).ingest(items)
    assert {outcome.status for outcome in again} == {"duplicate"}
    with store_url(backend, f"sqlite:///{tmp_path / 'small.db'}") as url:
        small = make_store(url, plant)
        ingestor = Ingestor(small)
        for batch in batched(items, 100):
            ingestor.ingest(batch)
        assert snapshot(memory_engine, skip=["plant_revisions"]) == snapshot(
            small, skip=["plant_revisions"]
        )
        small.dispose()
