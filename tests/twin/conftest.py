"""A simulated store to fit twins from: the bundled scenario's first days, on both backends,
with the scenario's plan stored well past them (a plant knows its plan ahead)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Final

import pytest
from sqlalchemy import Engine

from linespeed.ingest.core import Ingestor
from linespeed.ingest.lines import ingest_lines
from linespeed.plant.model import Plant
from linespeed.sim.emit import Detail, event_lines
from linespeed.sim.production_plan import scenario_plan
from linespeed.sim.run import simulate
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, load_scenario
from linespeed.supply.plan import import_plan
from linespeed.supply.plan_file import plan_csv
from tests.backends import backend, store_url
from tests.conftest import Result, cli_runner, make_store

__all__ = ["backend"]

DAYS: Final = 24
"""Simulated days: the single-shift start of the ramp, about 1,500 cars."""
PLAN_DAYS: Final = 400


def simulated_store(
    url: str, plant: Plant, days: float = DAYS, *, detail: Detail = "full", plan: bool = True
) -> Engine:
    """A simulation store holding the bundled scenario's first `days` days (and its plan)."""
    engine = make_store(url, plant, simulation=True)
    loaded = load_scenario(DEFAULT_SCENARIO_PATH)
    run = simulate(loaded, days=days)
    ingest_lines(Ingestor(engine), event_lines(run, detail=detail), "sim:test")
    if plan:
        last = loaded.scenario.start_of_production + timedelta(days=PLAN_DAYS)
        import_plan(engine, plan_csv(scenario_plan(loaded, last)).encode(), "plan.csv")
    return engine


@pytest.fixture(scope="module")
def twin_store(
    backend: str, tmp_path_factory: pytest.TempPathFactory, plant: Plant
) -> Iterator[Engine]:
    """The simulated store, on the module's backend."""
    sqlite_url = f"sqlite:///{tmp_path_factory.mktemp('twin') / 'linespeed.db'}"
    with store_url(backend, sqlite_url) as url:
        engine = simulated_store(url, plant)
        yield engine
        engine.dispose()


@pytest.fixture
def run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """Run `linespeed ARGS` in-process (no LINESPEED_DB: tests give --db)."""
    monkeypatch.delenv("LINESPEED_DB", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return cli_runner(capsys, monkeypatch)


def scenario_at(path: Path) -> str:
    """A scenario file's text."""
    return path.read_text(encoding="utf-8")
