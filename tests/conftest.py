"""Shared fixtures: the default plant, migrated stores (temp file and in-memory), helpers."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import msgspec
import pytest
from sqlalchemy import Engine, select

from linespeed import cli
from linespeed.events.codec import encode_event
from linespeed.events.types import Event
from linespeed.ingest.core import Ingestor, Outcome, RawEvent
from linespeed.plant.load import DEFAULT_PLANT_PATH, load_plant
from linespeed.plant.model import Plant
from linespeed.store.engine import connect, migrate
from linespeed.store.plants import save_plant
from linespeed.store.schema import metadata
from linespeed.store.settings import init_simulation


@pytest.fixture(scope="session")
def plant() -> Plant:
    """The bundled default plant."""
    return load_plant(DEFAULT_PLANT_PATH)


def make_store(url: str, plant: Plant, *, simulation: bool = False) -> Engine:
    """A migrated store at `url` holding `plant` as revision 1; a simulation store if asked.

    Only a simulation store accepts the simulator's events (`linespeed init --simulation`).
    """
    engine = connect(url)
    migrate(engine)
    init_simulation(engine, simulation=simulation)
    save_plant(engine, plant, "default.yaml")
    return engine


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """The URL of a temp-file SQLite database."""
    return f"sqlite:///{tmp_path / 'linespeed.db'}"


@pytest.fixture
def engine(db_url: str, plant: Plant) -> Iterator[Engine]:
    """A temp-file SQLite store with the default plant loaded."""
    store = make_store(db_url, plant)
    yield store
    store.dispose()


@pytest.fixture
def simulation_engine(db_url: str, plant: Plant) -> Iterator[Engine]:
    """A temp-file SQLite simulation store with the default plant loaded."""
    store = make_store(db_url, plant, simulation=True)
    yield store
    store.dispose()


@pytest.fixture
def memory_engine(plant: Plant) -> Iterator[Engine]:
    """An in-memory SQLite store with the default plant loaded."""
    store = make_store("sqlite://", plant)
    yield store
    store.dispose()


def payload(value: Event | dict[str, Any] | bytes) -> bytes:
    """The JSON bytes of an event, a dict or raw bytes."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, dict):
        return msgspec.json.encode(value)
    return encode_event(value)


def ingest(engine: Engine, items: Sequence[Event | dict[str, Any] | bytes]) -> list[Outcome]:
    """Ingest `items` as one batch; returns the outcomes."""
    batch = [RawEvent(payload(item), f"test:{number}") for number, item in enumerate(items, 1)]
    return Ingestor(engine).ingest(batch)


def snapshot(engine: Engine, *, skip: Sequence[str] = ()) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (sorted), to compare a store before and after."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            if table.name in skip:
                continue
            rows = connection.execute(select(table)).all()
            tables[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return tables


class Result(NamedTuple):
    """What a `linespeed` command did: its exit code and what it printed."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """The printed JSON."""
        return json.loads(self.stdout)


def cli_runner(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """A function running `linespeed ARGS` in-process, as the `linespeed` command would."""

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["linespeed", *args])
        code = 0
        try:
            cli.main()
        except SystemExit as stop:
            code = int(stop.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke
