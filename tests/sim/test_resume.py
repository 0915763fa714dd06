"""A scenario that resumes where a plant stands (a twin), and values drawn anew per run."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from linespeed.errors import ScenarioFileError
from linespeed.sim.calendar import WorkCalendar
from linespeed.sim.errors import SimInputError
from linespeed.sim.plan import release_times
from linespeed.sim.run import require_from_start, simulate
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, LoadedScenario, load_scenario
from linespeed.sim.uncertainty import drawn
from linespeed.sim.whatif import whatif
from tests.conftest import cli_runner

DEFAULT_TEXT = DEFAULT_SCENARIO_PATH.read_text(encoding="utf-8")
PLANT_LINE = f"plant: {DEFAULT_SCENARIO_PATH.parent.parent / 'plant' / 'default.yaml'}\n"


def scenario_file(tmp_path: Path, extra: str) -> Path:
    """The bundled scenario with `extra` YAML appended, beside the bundled plant."""
    path = tmp_path / "scenario.yaml"
    path.write_text(PLANT_LINE + DEFAULT_TEXT + extra, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def base() -> LoadedScenario:
    return load_scenario(DEFAULT_SCENARIO_PATH)


def resumed(base: LoadedScenario, at: str, cars: int) -> LoadedScenario:
    data = {"at": datetime.fromisoformat(at), "cars": cars}
    scenario = base.scenario.model_validate(
        {**base.scenario.model_dump(by_alias=True), "resume": data}
    )
    return LoadedScenario(scenario=scenario, plant=base.plant, source="test")


def test_a_line_behind_its_plan_releases_its_backlog_at_once(base: LoadedScenario) -> None:
    calendar = WorkCalendar(base.plant, base.scenario, 120)
    plan = release_times(base.scenario, calendar, 3000)
    at_s = float(plan[2000]) + 1.0  # the plan had released 2,001 cars by then
    at = calendar.at(at_s)
    behind = resumed(base, at.isoformat(), 1500)
    release = release_times(behind.scenario, calendar, 1000)
    backlog = int(np.count_nonzero(plan[1500:2500] <= at_s))
    assert backlog == 501
    assert release[:backlog] == pytest.approx(np.full(backlog, at_s))  # cars 1,501 to 2,001
    assert release[backlog:] == pytest.approx(plan[1500 + backlog : 2500])  # then the plan


def test_a_line_ahead_of_its_plan_follows_the_plan_rates_from_then_on(
    base: LoadedScenario,
) -> None:
    calendar = WorkCalendar(base.plant, base.scenario, 120)
    plan = release_times(base.scenario, calendar, 3000)
    at_s = float(plan[1000])
    ahead = resumed(base, calendar.at(at_s).isoformat(), 2000)
    release = release_times(ahead.scenario, calendar, 500)
    assert release[0] == pytest.approx(at_s)
    gaps = np.diff(calendar.to_work(release))
    assert gaps == pytest.approx(np.diff(calendar.to_work(plan[2000:2500])))


def test_whatif_counts_the_cars_already_built(base: LoadedScenario) -> None:
    start = whatif(base, until_units=3000, runs=2, workers=1)
    assert isinstance(start.p50, datetime)
    later = resumed(base, (start.p50 - timedelta(days=10)).isoformat(), 2000)
    answer = whatif(later, until_units=3000, runs=2, workers=1)
    assert isinstance(answer.p50, datetime)
    assert answer.p50 > start.p50 - timedelta(days=10)
    by_date = whatif(later, until=date(2024, 6, 1), runs=2, workers=1)
    assert isinstance(by_date.p50, int) and by_date.p50 > 2000


def test_a_target_already_built_is_refused(base: LoadedScenario) -> None:
    later = resumed(base, "2024-05-01T00:00:00+08:00", 5000)
    with pytest.raises(SimInputError, match=r"car 5,000 \(until_units\) was already completed"):
        whatif(later, until_units=5000, runs=1, workers=1)
    with pytest.raises(SimInputError, match="already past"):
        whatif(later, until=date(2024, 4, 30), runs=1, workers=1)


def test_events_are_not_simulated_from_a_resumed_scenario(
    base: LoadedScenario,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    later = resumed(base, "2024-05-01T00:00:00+08:00", 5000)
    with pytest.raises(SimInputError, match="resumes at"):
        require_from_start(later)
    path = scenario_file(tmp_path, "resume: {at: 2024-05-01T00:00:00+08:00, cars: 5000}\n")
    result = cli_runner(capsys, monkeypatch)(
        "simulate", str(path), "--days", "1", "--out", str(tmp_path / "x.jsonl")
    )
    assert result.exit_code == 1
    assert "linespeed whatif" in result.stderr


def test_resume_before_start_of_production_names_the_field(tmp_path: Path) -> None:
    path = scenario_file(tmp_path, "resume: {at: 2023-05-01T00:00:00+08:00, cars: 5}\n")
    with pytest.raises(ScenarioFileError, match=r"resume\.at: the run cannot resume"):
        load_scenario(path)


def test_drawn_values_are_reproducible_and_stay_in_their_range(base: LoadedScenario) -> None:
    spread = {
        "failures.stations.ga-140.mtbf_h": 30.0,  # wider than the value: would go below 0
        "cycle_time.stations.ga-140.start_factor": 2.0,
        "defects.checks.wheel-align.p_fail": 0.5,
    }
    draws = [drawn(base.scenario, spread, seed) for seed in range(200)]
    again = drawn(base.scenario, spread, 7)
    assert again == draws[7]
    mtbf = np.array([d.failures.stations["ga-140"].mtbf_h for d in draws])
    factor = np.array([d.cycle_time.stations["ga-140"].start_factor for d in draws])
    p_fail = np.array([d.defects.checks["wheel-align"].p_fail for d in draws])
    assert mtbf.min() >= 0.1 and factor.min() >= 1.0 and 0 <= p_fail.min() <= p_fail.max() <= 1
    assert len(set(mtbf.round(6))) > 150  # drawn anew for each seed
    assert mtbf.mean() == pytest.approx(12.0, rel=0.35)
    assert drawn(base.scenario, {}, 3) is base.scenario


def test_a_scenario_run_draws_its_uncertainty(tmp_path: Path) -> None:
    path = scenario_file(tmp_path, "uncertainty:\n  failures.stations.ga-140.mtbf_h: 4\n")
    loaded = load_scenario(path)
    first = simulate(loaded, days=5, seed=1).loaded.scenario.failures.stations["ga-140"].mtbf_h
    second = simulate(loaded, days=5, seed=2).loaded.scenario.failures.stations["ga-140"].mtbf_h
    assert first != second and first != 12


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("failures.stations.ga-999.mtbf_h: 1", "is not a value of this file"),
        ("ramp: 1", "holds a list, not a number"),
        ("line: 1", "holds 'l1', not a number"),
        ("failures.stations.ga-140.mtbf_h: -1", "must be >= 0, got -1"),
    ],
)
def test_uncertainty_names_what_it_cannot_draw(tmp_path: Path, entry: str, message: str) -> None:
    path = scenario_file(tmp_path, f"uncertainty:\n  {entry}\n")
    with pytest.raises(ScenarioFileError, match=message) as caught:
        load_scenario(path)
    assert "uncertainty" in str(caught.value)


def test_a_failure_every_few_seconds_is_refused(tmp_path: Path) -> None:
    path = scenario_file(tmp_path, "")
    text = path.read_text(encoding="utf-8").replace(
        "ga-140: {mtbf_h: 12, mttr_min: 20}", "ga-140: {mtbf_h: 0.000001, mttr_min: 0.000001}"
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioFileError, match=r"failures\.stations\.ga-140\.mtbf_h"):
        load_scenario(path)
