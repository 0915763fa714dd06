"""`linespeed milestones`, `ramp` and `ramp forecast` from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from linespeed.ingest.core import Ingestor
from linespeed.ingest.lines import ingest_lines
from linespeed.plant.model import with_tracking
from linespeed.sim.emit import event_lines
from linespeed.sim.run import simulate
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, load_scenario
from linespeed.store.plants import save_plant

TESLA_2018 = """period_end,quantity
2017-09-30,260
2017-12-31,2425
2018-03-31,9766
2018-06-30,28578
2018-09-30,53239
2018-12-31,61394
"""


def test_ramp_forecast_from_any_csv(run: Any, tmp_path: Path) -> None:
    path = tmp_path / "tesla.csv"
    path.write_text(TESLA_2018)
    result = run("ramp", "forecast", "--csv", str(path), "--target", "300000", "--json")
    assert result.exit_code == 0, result.stderr
    body = result.json()
    assert set(body) == {"target", "date", "low", "high", "model"}
    assert body["target"] == 300000
    assert body["low"] <= body["date"] <= (body["high"] or "9999")
    assert "2019-01-01" < body["date"] < "2020-06-30"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("date,cumulative\n2024-01-31,10\n2024-02-29,5\n", "cannot decrease"),
        ("date,cumulative\n2024-01-31,10\n", "points"),
        ("when,count\n2024-01-31,10\n", "header"),
    ],
)
def test_ramp_forecast_bad_csv_is_named(run: Any, tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    result = run("ramp", "forecast", "--csv", str(path), "--target", "1000")
    assert result.exit_code == 1
    assert "bad.csv" in result.stderr and message in result.stderr


@pytest.fixture
def ramped(run: Any, simulation_engine: Engine, db_url: str) -> Engine:
    """The simulation store with 70 days of the default scenario, tracked at unit level."""
    loaded = load_scenario(DEFAULT_SCENARIO_PATH)
    save_plant(simulation_engine, with_tracking(loaded.plant, "units"), "units")
    lines = event_lines(simulate(loaded, days=70), detail="units")
    report = ingest_lines(Ingestor(simulation_engine), lines, "sim")
    assert report.rejected == 0
    return simulation_engine


@pytest.mark.slow
def test_milestones_and_ramp_on_a_ramped_store(run: Any, ramped: Engine, tmp_path: Path) -> None:
    reached = run("milestones", "--json").json()
    assert [car["number"] for car in reached["reached"]] == [1]
    assert reached["next_milestone"] == 10000
    plan = run("milestones", "plan", "10000", "--json").json()
    assert plan["best"]["start_seq"] >= 10000
    png = tmp_path / "ramp.png"
    result = run("ramp", "--reference", "tesla-model-3", "--plot", str(png), "--json")
    assert result.exit_code == 0, result.stderr
    body = result.json()
    assert body["plant"]["metric"] == "produced"
    assert body["plant"]["cumulative"][-1][1] == reached["completed"]
    assert [f["target"] for f in body["forecasts"]] == [10000, 50000]
    assert [r["name"] for r in body["references"]] == ["tesla-model-3"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = run("ramp").stdout
    assert "Tesla Model 3" in text and "production" in text


def test_ramp_on_an_empty_store_says_so(run: Any, engine: Engine) -> None:
    result = run("ramp", "--json")
    assert result.exit_code == 0
    assert result.json()["plant"] is None
    assert any("no car has been completed" in note for note in result.json()["notes"])


def test_unknown_reference_is_named(run: Any, engine: Engine) -> None:
    result = run("ramp", "--reference", "ford-model-t")
    assert result.exit_code == 1 and "ford-model-t" in result.stderr
