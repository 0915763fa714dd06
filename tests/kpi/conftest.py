"""Fixtures for the KPI tests: the worked example's plant and stores."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from linespeed.plant.model import Plant
from tests.backends import any_db_url, any_memory_engine, backend, store_url
from tests.conftest import ingest, make_store
from tests.kpi.example import example_events, example_plant


@pytest.fixture(scope="session")
def kpi_plant() -> Plant:
    """The three-station plant of the worked example."""
    return example_plant()


__all__ = ["any_db_url", "any_memory_engine", "backend"]


@pytest.fixture
def kpi_empty(backend: str, kpi_plant: Plant) -> Iterator[Engine]:
    """A store with the worked example's plant and no events."""
    with store_url(backend, "sqlite://") as url:
        store = make_store(url, kpi_plant)
        yield store
        store.dispose()


@pytest.fixture(scope="module")
def kpi_store(backend: str) -> Iterator[Engine]:
    """The worked example: its plant and every one of its events, all accepted (read-only)."""
    plant = example_plant()
    with store_url(backend, "sqlite://") as url:
        store = make_store(url, plant)
        outcomes = ingest(store, example_events(plant))
        assert [outcome for outcome in outcomes if outcome.status != "accepted"] == []
        yield store
        store.dispose()
