"""A twin fitted from a simulated store: a scenario people can read, that whatif runs, and
clear refusals where the store holds too little."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from linespeed.access.tokens import create_token
from linespeed.api import ApiSettings, create_app
from linespeed.plant.model import Plant
from linespeed.sim.scenario import load_scenario
from linespeed.sim.whatif import whatif
from linespeed.store.schema import units
from linespeed.twin.calibrate import calibrate
from linespeed.twin.errors import TwinInputError
from tests.conftest import Result
from tests.twin.conftest import simulated_store


def completed(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count()).select_from(units).where(units.c.completed_at.is_not(None))
            ).scalar_one()
        )


def test_the_twin_is_a_scenario_that_resumes_where_the_store_stands(
    twin_store: Engine, tmp_path: Path, plant: Plant
) -> None:
    fitted = calibrate(twin_store)
    written = fitted.write(tmp_path / "twin.yaml")
    assert written == [tmp_path / "twin.yaml"]  # the bundled plant: no plant file beside
    loaded = load_scenario(tmp_path / "twin.yaml")
    scenario = loaded.scenario
    assert scenario.resume is not None and scenario.resume.cars == completed(twin_store)
    assert scenario.start_of_production.isoformat() == "2024-03-01"
    fitted_stations = set(scenario.cycle_time.stations)
    assert fitted_stations == {s.id for s in plant.lines[0].stations if not s.optional}
    ga140 = scenario.cycle_time.stations["ga-140"]
    assert ga140.start_factor > 1.3  # the marriage station learns slowly (1.6 in truth)
    assert scenario.mix.models["s7"] == pytest.approx(0.65, abs=0.05)
    assert "BAT-1001" in scenario.supply.parts
    assert scenario.uncertainty  # fitted values carry their standard errors
    assert [step.start.isoformat() for step in scenario.ramp][:2] == ["2024-03-01", "2024-04-01"]
    text = (tmp_path / "twin.yaml").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith(("    ga-", "    body-")):
            assert "#" in line  # every fitted value says what it rests on
    answer = whatif(loaded, until_units=scenario.resume.cars + 2000, runs=3, workers=1)
    assert isinstance(answer.p10, datetime) and isinstance(answer.p90, datetime)
    assert fitted.history.window.until <= answer.p10 <= answer.p90


def test_a_plant_other_than_the_bundled_one_is_written_beside(tmp_path: Path, plant: Plant) -> None:
    other = plant.model_copy(update={"name": "Another plant"})
    engine = simulated_store(f"sqlite:///{tmp_path / 'other.db'}", other, days=8)
    try:
        written = calibrate(engine).write(tmp_path / "twin.yaml")
    finally:
        engine.dispose()
    assert written == [tmp_path / "twin.yaml", tmp_path / "twin.plant.yaml"]
    assert "plant: twin.plant.yaml" in written[0].read_text(encoding="utf-8")
    assert load_scenario(written[0]).plant.name == "Another plant"


def test_too_little_data_names_every_field(twin_store: Engine) -> None:
    since = datetime.fromisoformat("2024-03-01T00:00:00+08:00")
    with pytest.raises(TwinInputError) as caught:
        calibrate(twin_store, since=since, until=since + timedelta(hours=10))
    message = caught.value.message
    assert "cycle_time.stations.body-010: " in message
    assert "cycle_time.stations.eol-080: " in message
    assert "a fit needs at least 30 visits" in message


def test_a_window_with_no_data_is_refused(twin_store: Engine) -> None:
    since = datetime.fromisoformat("2023-01-01T00:00:00+08:00")
    with pytest.raises(TwinInputError, match="nothing to fit") as caught:
        calibrate(twin_store, since=since, until=since + timedelta(days=30))
    assert caught.value.parameter == "since"


def test_an_unknown_line_is_refused(twin_store: Engine) -> None:
    with pytest.raises(TwinInputError, match="line 'l9' is not in plant"):
        calibrate(twin_store, line="l9")


def test_a_line_tracked_by_unit_only_has_no_work_times(tmp_path: Path, plant: Plant) -> None:
    engine = simulated_store(f"sqlite:///{tmp_path / 'u.db'}", plant, days=6, detail="units")
    try:
        with pytest.raises(TwinInputError, match=r"cycle_time\.stations\.ga-140: no visit"):
            calibrate(engine)
    finally:
        engine.dispose()


def test_without_a_plan_the_shift_pattern_is_refused(tmp_path: Path, plant: Plant) -> None:
    engine = simulated_store(f"sqlite:///{tmp_path / 'p.db'}", plant, days=6, plan=False)
    try:
        with pytest.raises(TwinInputError, match=r"shift_pattern: no stored plan"):
            calibrate(engine)
    finally:
        engine.dispose()


def test_cli_writes_the_twin_and_refuses_bad_input(
    twin_store: Engine, tmp_path: Path, run: Callable[..., Result]
) -> None:
    url = twin_store.url.render_as_string(hide_password=False)
    out = tmp_path / "twin.yaml"
    result = run("twin", "calibrate", "--out", str(out), "--db", url, "--json")
    assert result.exit_code == 0, result.stderr
    summary = result.json()
    assert summary["files"] == [str(out)] and summary["cars_completed"] == completed(twin_store)
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["line"] == "l1"
    bad = run("twin", "calibrate", "--out", str(out), "--db", url, "--since", "yesterday")
    assert bad.exit_code == 1 and "'yesterday' is not an ISO time" in bad.stderr
    empty = run(
        "twin", "calibrate", "--out", str(out), "--db", url,
        "--since", "2023-01-01T00:00+08:00", "--until", "2023-02-01T00:00+08:00",
    )  # fmt: skip
    assert empty.exit_code == 1 and "--since" in empty.stderr and "nothing to fit" in empty.stderr


def test_ramp_shows_the_twin_beside_the_curve_fit(
    twin_store: Engine, tmp_path: Path, run: Callable[..., Result]
) -> None:
    url = twin_store.url.render_as_string(hide_password=False)
    built = completed(twin_store)
    target = built + 1000
    result = run(
        "ramp", "--twin", "--forecast", str(target), "--forecast", str(built), "--json",
        "--db", url, "--plot", str(tmp_path / "ramp.png"),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = result.json()
    twin = report["twin"]
    assert twin["coverage"] == "P10-P90" and twin["runs"] == 30
    assert twin["cars_completed"] == built
    [band] = twin["forecasts"]
    assert band["target"] == target
    assert band["p10"] <= band["p50"] <= band["p90"]
    assert any(f"car {built:,} was already built" in note for note in report["notes"])
    assert (tmp_path / "ramp.png").stat().st_size > 10_000
    text = run("ramp", "--twin", "--forecast", str(target), "--db", url)
    assert text.exit_code == 0, text.stderr
    assert f"car {target:,}: twin P50 " in text.stdout and "twin: fitted from" in text.stdout
    without = run("ramp", "--json", "--db", url).json()
    assert without["twin"] is None


def test_the_api_answers_the_twin_as_the_cli_does(twin_store: Engine) -> None:
    token = create_token(twin_store, "viewer").token
    built = completed(twin_store)
    app = create_app(twin_store, ApiSettings(live_window=None))
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get(
            "/api/v1/ramp",
            params={"twin": "true", "forecast": built + 500},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 200, answer.text
    [band] = answer.json()["twin"]["forecasts"]
    assert band["target"] == built + 500 and band["p10"] <= band["p50"] <= band["p90"]


def test_a_file_that_cannot_be_written_is_a_clear_error(
    twin_store: Engine, tmp_path: Path, run: Callable[..., Result]
) -> None:
    url = twin_store.url.render_as_string(hide_password=False)
    out = tmp_path / "no-such-folder" / "twin.yaml"
    result = run("twin", "calibrate", "--out", str(out), "--db", url)
    assert result.exit_code == 1
    assert f"--out {out}: cannot be written" in result.stderr


def test_the_twin_counts_the_cars_built_before_the_store(tmp_path: Path, plant: Plant) -> None:
    before = plant.model_copy(update={"sop": date(2024, 3, 1), "cars_before": 500})
    engine = simulated_store(f"sqlite:///{tmp_path / 'before.db'}", before, days=8)
    try:
        fitted = calibrate(engine)
        stored = completed(engine)
    finally:
        engine.dispose()
    written = fitted.write(tmp_path / "twin.yaml")
    scenario = load_scenario(written[0]).scenario
    assert scenario.resume is not None and scenario.resume.cars == stored + 500
    assert scenario.start_of_production == date(2024, 3, 1)


def test_a_window_of_one_busy_day_is_too_few_days(twin_store: Engine) -> None:
    since = datetime.fromisoformat("2024-03-04T00:00:00+08:00")  # a Monday: one shift of cars
    with pytest.raises(TwinInputError) as caught:
        calibrate(twin_store, since=since, until=since + timedelta(days=1))
    assert "but on fewer than 3 days with 3 or more" in caught.value.message
