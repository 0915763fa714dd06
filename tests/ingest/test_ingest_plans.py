"""Ingest's own look-ups read index ranges, whatever the store has grown to (EXPLAIN).

A batch asks which cars, serials, received pieces and event ids it meets; each of those is
a look-up by key. A look-up that reads a whole growing table makes every batch slower as
the plant builds more cars, so a plant-scale store ingests ever more slowly.
"""

from __future__ import annotations

import pytest

from linespeed.ingest.core import Ingestor, RawEvent
from linespeed.ingest.lines import ingest_lines
from linespeed.plant.model import Plant
from linespeed.sim.emit import event_lines
from linespeed.sim.run import simulate
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, load_scenario
from tests.conftest import make_store
from tests.plans import full_scans

LAST_EVENTS = 200


@pytest.fixture(scope="module")
def stream() -> list[bytes]:
    """Three days of the simulated line: every station, part and check, and goods receipts."""
    return list(event_lines(simulate(load_scenario(DEFAULT_SCENARIO_PATH), days=3)))


@pytest.mark.slow
def test_a_batch_reads_no_growing_table_whole(
    db_url: str, plant: Plant, stream: list[bytes]
) -> None:
    assert any(b'"part.received"' in line for line in stream)
    store = make_store(db_url, plant, simulation=True)
    assert ingest_lines(Ingestor(store), stream[:-LAST_EVENTS], "sim").rejected == 0
    last = [RawEvent(line, "sim") for line in stream[-LAST_EVENTS:]]
    assert any(b'"serial"' in item.payload for item in last)

    assert full_scans(store, lambda: Ingestor(store).ingest(last)) == []
    store.dispose()
