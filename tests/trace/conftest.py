"""Every test here runs on SQLite and on PostgreSQL; a simulated line to trace."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from linespeed.ingest.core import Ingestor
from linespeed.ingest.lines import ingest_lines
from linespeed.plant.model import Plant
from linespeed.sim.emit import event_lines
from linespeed.sim.run import simulate
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, LoadedScenario, load_scenario
from tests.backends import any_db_url, any_memory_engine, backend, store_url
from tests.cli.conftest import run
from tests.conftest import make_store

__all__ = ["any_db_url", "any_memory_engine", "backend", "run"]


def _rough(loaded: LoadedScenario) -> LoadedScenario:
    """The default scenario with some scrap, so every status of a car shows up."""
    scenario = loaded.scenario.model_copy(
        update={"scrap": loaded.scenario.scrap.model_copy(update={"p": 0.08})}
    )
    return LoadedScenario(scenario=scenario, plant=loaded.plant, source=loaded.source)


@pytest.fixture(scope="module")
def stream() -> list[dict[str, Any]]:
    """Three days of the simulated line, every station, part and check."""
    loaded = _rough(load_scenario(DEFAULT_SCENARIO_PATH))
    return [json.loads(line) for line in event_lines(simulate(loaded, days=3))]


@pytest.fixture(scope="module")
def line_store(backend: str, stream: list[dict[str, Any]], plant: Plant) -> Iterator[Engine]:
    """A store holding the simulated stream (read-only)."""
    with store_url(backend, "sqlite://") as url:
        store = make_store(url, plant, simulation=True)
        ingest_stream(store, stream)
        yield store
        store.dispose()


def ingest_stream(store: Engine, stream: list[dict[str, Any]]) -> None:
    """Ingest the simulated stream into `store`; every event must be accepted."""
    lines = [json.dumps(event).encode() for event in stream]
    assert ingest_lines(Ingestor(store), lines, "sim").rejected == 0
