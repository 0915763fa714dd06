"""Text output as people read it: whole cells in pipes, every station, n/a, plurals, plant time."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from linespeed.plant.model import Plant
from linespeed.store.plants import save_plant
from tests.conftest import ingest
from tests.ingest.line import event, start, through, vin

LONG_SERIAL = "VCU-4101-" + "7" * 60
"""A serial far wider than a table cell gets in 80 columns."""


@pytest.fixture
def one_car(engine: Engine, plant: Plant) -> str:
    """One car past ga-030 with a long serial in it, and one passed check at body-100."""
    car = vin(plant, "s7", 1)
    events = [start(plant, "s7", 1), *through(plant, car, "body-100")]
    events.append(
        event(
            "inspection.recorded",
            vin=car,
            station="body-100",
            check="dimensional-check",
            result="pass",
        )
    )
    events += through(plant, car, "ga-030", first=_index(plant, "body-100"))
    events.append(
        event("part.installed", vin=car, station="ga-030", part="VCU-4101", serial=LONG_SERIAL)
    )
    events += through(plant, car, "ga-040", first=_index(plant, "ga-030"))
    outcomes = ingest(engine, events)
    assert {outcome.status for outcome in outcomes} == {"accepted"}, outcomes
    return car


def _index(plant: Plant, station: str) -> int:
    return [s.id for s in plant.lines[0].stations].index(station)


def test_piped_output_keeps_every_cell_whole(one_car: str, db_url: str) -> None:
    env = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "LINES")}
    env["LINESPEED_DB"] = db_url
    command = [sys.executable, "-c", "from linespeed.cli import main; main()"]
    for args in (["trace", "vin", one_car], ["unit", one_car]):
        piped = subprocess.run(
            [*command, *args], env=env, capture_output=True, text=True, check=True, timeout=120
        )
        assert LONG_SERIAL in piped.stdout
        assert "…" not in piped.stdout


def test_narrow_columns_do_not_cut_cells_when_not_a_terminal(
    run: Any, one_car: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    result = run("trace", "vin", one_car)
    assert result.exit_code == 0, result.stderr
    assert LONG_SERIAL in result.stdout and "…" not in result.stdout


def test_kpi_lists_every_station_and_fpy_n_a_without_checks(
    run: Any, one_car: str, plant: Plant
) -> None:
    result = run("kpi", "--by", "station")
    assert result.exit_code == 0, result.stderr
    table_rows = {
        line.split("│")[1].strip() for line in result.stdout.splitlines() if line.count("│") > 2
    }
    every_station = {station.id for station in plant.lines[0].stations}
    assert every_station <= table_rows
    assert "body-010: completed 1, JPH" in result.stdout
    assert re.search(r"^body-010: .*FPY n/a,", result.stdout, re.MULTILINE)
    assert re.search(r"^body-100: .*FPY 100\.0%,", result.stdout, re.MULTILINE)
    assert "first-pass yield 100.0%" in result.stdout


def test_kpi_says_n_a_when_nothing_was_inspected(run: Any, engine: Engine, plant: Plant) -> None:
    car = vin(plant, "s7", 1)
    ingest(engine, [start(plant, "s7", 1), *through(plant, car, "body-050")])
    result = run("kpi")
    assert "first-pass yield n/a" in result.stdout
    assert "0.0%" not in result.stdout.split("first-pass yield")[1].split(",")[0]


def test_kpi_prints_its_window_in_plant_time(run: Any, one_car: str) -> None:
    first_line = run("kpi").stdout.splitlines()[0]
    assert re.match(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+08:00 to \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+08:00: ",
        first_line,
    )
    assert run("kpi", "--json").json()["since"].endswith(("Z", "+00:00"))


def test_trace_and_unit_times_are_plant_time(run: Any, one_car: str) -> None:
    for args in (("trace", "vin", one_car), ("unit", one_car)):
        text = run(*args).stdout
        assert "+08:00" in text and "+00:00" not in text


def test_one_piece_in_one_car_is_singular(run: Any, one_car: str) -> None:
    result = run("trace", "part", "VCU-4101", "--serial", LONG_SERIAL)
    assert result.exit_code == 0, result.stderr
    assert "1 piece in 1 car: " in result.stdout


def test_no_piece_in_no_car_is_plural(run: Any, one_car: str) -> None:
    result = run("trace", "part", "VCU-4101", "--serial", LONG_SERIAL, "--status", "shipped")
    assert "0 pieces in 0 cars: " in result.stdout


def test_counts_of_one_are_singular(run: Any, engine: Engine, plant: Plant) -> None:
    ingest(engine, [start(plant, "s7", 1)])
    assert run("rebuild").stdout.strip() == "rebuilt projections from 1 event"
    assert run("milestones").stdout.startswith("0 cars completed;")
    checked = run("plant", "check", "src/linespeed/plant/default.yaml").stdout
    assert ": plant yz1 is valid: 1 line, 47 stations, 2 models, " in checked


def test_deadletters_say_times_and_plant_time(run: Any, engine: Engine, plant: Plant) -> None:
    car = vin(plant, "s7", 1)
    ingest(engine, [event("station.completed", vin=car, station="body-010", result="ok")])
    text = run("deadletters").stdout
    assert "retried 0 times)" in text
    assert re.search(r"received \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+08:00", text)
    run("deadletters", "retry")
    assert "retried 1 time)" in run("deadletters").stdout


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (("kpi", "--since", "yesterday"), r"such as \d{4}-\d\d-\d\dT00:00\+08:00"),
        (("kpi", "--since", "2025-05-26T00:00"), r"e\.g\. 2025-05-26T00:00:00\+08:00"),
        (
            ("trace", "part", "VCU-4101", "--supplier", "sup-ecu", "--from", "2025-05-26T00:00"),
            r"write it as 2025-05-26T00:00\+08:00",
        ),
    ],
)
def test_time_hints_give_the_plants_own_offset(
    run: Any, one_car: str, args: tuple[str, ...], hint: str
) -> None:
    result = run(*args)
    assert result.exit_code == 1
    assert re.search(hint, result.stderr), result.stderr


def test_time_hints_follow_the_plant_to_its_zone(run: Any, engine: Engine, plant: Plant) -> None:
    save_plant(engine, plant.model_copy(update={"timezone": "Europe/Berlin"}), "berlin.yaml")
    summer = run("kpi", "--since", "2025-05-26T00:00")
    assert "e.g. 2025-05-26T00:00:00+02:00" in summer.stderr
    winter = run("trace", "part", "VCU-4101", "--supplier", "x", "--to", "2025-01-06T00:00")
    assert "write it as 2025-01-06T00:00+01:00" in winter.stderr
    offset = datetime.now(ZoneInfo("Europe/Berlin")).strftime("%z")
    garbled = run("kpi", "--until", "tomorrow")
    assert f"T00:00{offset[:3]}:{offset[3:]}" in garbled.stderr
