"""Fixtures for the supply tests: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from linespeed.plant.load import DEFAULT_PLANT_PATH, parse_plant
from linespeed.plant.model import Plant
from tests.backends import any_db_url, any_memory_engine, backend, store_url
from tests.conftest import make_store

__all__ = ["any_db_url", "any_memory_engine", "backend"]


def supply_plant(*, strict: bool = False) -> Plant:
    """The default plant with BRK-2201 at 2 per car, FST-9901 at 24 per car backflushed at
    ga-150, and (if `strict`) `supply: {strict: true}`."""
    text = DEFAULT_PLANT_PATH.read_text(encoding="utf-8")
    text = text.replace(
        "{part: BRK-2201, station: ga-090, serialized: false, supplier: sup-brk}",
        "{part: BRK-2201, station: ga-090, serialized: false, supplier: sup-brk, qty: 2}",
    ).replace(
        "{part: FST-9901, station: ga-150, serialized: false, supplier: sup-fst}",
        "{part: FST-9901, station: ga-150, serialized: false, supplier: sup-fst, qty: 24,"
        " backflush: true}",
    )
    if strict:
        text += "\nsupply: {strict: true}\n"
    return parse_plant(text, "supply.yaml")


@pytest.fixture(scope="session")
def stock_plant() -> Plant:
    """The supply test plant (accepting pieces never received)."""
    return supply_plant()


@pytest.fixture
def stock_engine(backend: str, stock_plant: Plant) -> Iterator[Engine]:
    """An empty store holding the supply test plant, on the test's backend."""
    with store_url(backend, "sqlite://") as url:
        store = make_store(url, stock_plant)
        yield store
        store.dispose()


@pytest.fixture
def strict_engine(backend: str) -> Iterator[Engine]:
    """An empty store holding the supply test plant with `supply: {strict: true}`."""
    with store_url(backend, "sqlite://") as url:
        store = make_store(url, supply_plant(strict=True))
        yield store
        store.dispose()
