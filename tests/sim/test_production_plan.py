"""The scenario's shift pattern and ramp as a production plan: rows, the plan file, the
plan stored by `simulate --into-db` (both backends), and the KPIs and ramp against it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from linespeed.kpi import kpi_report
from linespeed.plant.model import Plant
from linespeed.ramp.report import ramp_report
from linespeed.sim.production_plan import scenario_plan, working_minutes
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, LoadedScenario, load_scenario
from linespeed.supply.plan import list_revisions, plan_in_force
from linespeed.supply.plan_file import PlanRow, parse_plan
from tests.backends import backend, store_url
from tests.conftest import cli_runner, make_store

__all__ = ["backend"]


@pytest.fixture(scope="module")
def loaded() -> LoadedScenario:
    return load_scenario(DEFAULT_SCENARIO_PATH)


def test_the_plan_follows_the_shift_pattern_and_the_ramp(loaded: LoadedScenario) -> None:
    rows = scenario_plan(loaded, date(2024, 3, 10))
    # Start of production on Friday 1 March 2024: shift A (8 working hours), Monday to
    # Friday, at 6 jobs an hour; the weekend has no row.
    assert rows == [PlanRow(date(2024, 3, day), "l1", "A", None, 48) for day in (1, 4, 5, 6, 7, 8)]
    may = [row for row in scenario_plan(loaded, date(2024, 5, 6)) if row.day == date(2024, 5, 6)]
    # From 6 May: shifts A and B, 25 jobs an hour, 8 hours each.
    assert may == [
        PlanRow(date(2024, 5, 6), "l1", "A", None, 200),
        PlanRow(date(2024, 5, 6), "l1", "B", None, 200),
    ]


def test_working_minutes_leave_out_breaks(plant: Plant) -> None:
    assert [working_minutes(shift) for shift in plant.shifts] == [480, 480, 390]


@pytest.fixture
def run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[..., tuple[int, str, str]]:
    """Run `linespeed ARGS` in-process in a temp folder: (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)

    return cli_runner(capsys, monkeypatch)


def test_plan_out_writes_the_plan_without_a_database(
    run: Callable[..., tuple[int, str, str]], tmp_path: Path, loaded: LoadedScenario
) -> None:
    code, _, err = run("simulate", "--days", "9", "--plan-out", "plan.csv")
    assert (code, err) == (0, "wrote the plan to plan.csv, start of production to day 9.0\n")
    text = (tmp_path / "plan.csv").read_text()
    assert text.splitlines()[:3] == [
        "date,line,shift,model,quantity",
        "2024-03-01,l1,A,,48",
        "2024-03-04,l1,A,,48",
    ]
    assert parse_plan(text.encode(), loaded.plant, "plan.csv") == scenario_plan(
        loaded, date(2024, 3, 9)
    )
    assert not (tmp_path / "linespeed.db").exists()
    code, _, err = run("simulate", "--days", "1", "--plan-out", str(tmp_path / "no" / "p.csv"))
    assert code == 1 and "p.csv: cannot be written: No such file or directory" in err


@pytest.fixture
def sim_store(backend: str, plant: Plant, tmp_path: Path) -> Iterator[Engine]:
    with store_url(backend, f"sqlite:///{tmp_path / 'sim.db'}") as url:
        engine = make_store(url, plant, simulation=True)
        yield engine
        engine.dispose()


def test_simulate_into_db_stores_the_plan(
    run: Callable[..., tuple[int, str, str]], sim_store: Engine
) -> None:
    url = sim_store.url.render_as_string(hide_password=False)
    code, out, _ = run("simulate", "--days", "9", "--into-db", "--db", url, "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["plan"] == {
        "revision": 1,
        "new": True,
        "first_day": "2024-03-01",
        "last_day": "2024-03-08",
        "rows": 6,
        "quantity": 288,
    }
    assert summary["ingest"]["rejected"] == 0
    # The same run again stores no new revision.
    code, _, err = run("simulate", "--days", "9", "--into-db", "--db", url)
    assert "plan: revision 1 (unchanged), 2024-03-01 to 2024-03-08: 288 cars planned" in err
    assert [r.source for r in list_revisions(sim_store)] == ["sim:yz1-ramp"]
    assert plan_in_force(sim_store).quantity == 288
    # The KPIs of the simulated week: its plan, and shift A's 8 hours a working day.
    since = datetime(2024, 2, 29, 16, tzinfo=UTC)  # 1 March, 00:00 local
    report = kpi_report(sim_store, since=since, until=datetime(2024, 3, 8, 16, tzinfo=UTC))
    assert report.planned == 288.0
    assert report.production_hours == 48.0
    assert report.plan_coverage == 1.0
    assert report.planned_vs_actual == pytest.approx(report.completed / 288)
    # The ramp shows the cumulative plan beside the actual curve.
    ramp = ramp_report(sim_store).to_json()
    assert ramp["plan"]["cumulative"][:2] == [["2024-03-01", 48.0], ["2024-03-04", 96.0]]
    assert ramp["plan"]["cumulative"][-1] == ["2024-03-08", 288.0]
    assert ramp["plan"]["planned_to_date"] == 288.0
    assert ramp["plan"]["actual_to_date"] == report.completed
    assert ramp["plan"]["day"] == "2024-03-08"
    assert ramp["plan"]["actual_vs_plan"] == pytest.approx(report.completed / 288)
