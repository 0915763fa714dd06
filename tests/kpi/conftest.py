"""Fixtures for the KPI tests: the worked example's plant and stores."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from linespeed.plant.model import Plant
from tests.conftest import ingest, make_store
from tests.kpi.example import example_events, example_plant


@pytest.fixture(scope="session")
def kpi_plant() -> Plant:
    """The three-station plant of the worked example."""
    return example_plant()


@pytest.fixture
def kpi_empty(kpi_plant: Plant) -> Iterator[Engine]:
    """An in-memory store with the worked example's plant and no events."""
    store = make_store("sqlite://", kpi_plant)
    yield store
    store.dispose()


@pytest.fixture(scope="module")
def kpi_store() -> Iterator[Engine]:
    """The worked example: its plant and every one of its events, all accepted (read-only)."""
    plant = example_plant()
    store = make_store("sqlite://", plant)
    outcomes = ingest(store, example_events(plant))
    assert [outcome for outcome in outcomes if outcome.status != "accepted"] == []
    yield store
    store.dispose()
