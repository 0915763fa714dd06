"""The plant's start of production (`sop`) and `cars_before` in the plant file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from linespeed.errors import PlantFileError, ScenarioFileError
from linespeed.plant.load import DEFAULT_PLANT_PATH, parse_plant
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, load_scenario

PLANT = DEFAULT_PLANT_PATH.read_text()
SCENARIO = DEFAULT_SCENARIO_PATH.read_text()


def test_sop_and_cars_before_are_read_from_the_plant_file() -> None:
    plant = parse_plant(PLANT + "sop: 2024-02-01\ncars_before: 12000\n", "plant.yaml")
    assert (plant.sop, plant.cars_before) == (date(2024, 2, 1), 12_000)
    default = parse_plant(PLANT, "plant.yaml")
    assert (default.sop, default.cars_before) == (None, 0)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("cars_before: -1\n", "cars_before"),
        ("cars_before: '12'\n", "cars_before"),
        ("sop: soon\n", "sop"),
    ],
)
def test_bad_sop_or_cars_before_names_line_and_field(extra: str, field: str) -> None:
    with pytest.raises(PlantFileError) as raised:
        parse_plant(PLANT + extra, "plant.yaml")
    (problem,) = raised.value.problems
    assert (problem.field, problem.line) == (field, len(PLANT.splitlines()) + 1)


def test_scenario_start_of_production_must_agree_with_the_plant_sop(tmp_path: Path) -> None:
    (tmp_path / "plant.yaml").write_text(PLANT + "sop: 2024-02-01\n")
    text = SCENARIO.replace("# plant: ../plants/yz1.yaml", "plant: plant.yaml")
    assert "plant: plant.yaml" in text and "start_of_production: 2024-03-01" in text
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(text)
    with pytest.raises(ScenarioFileError) as raised:
        load_scenario(scenario)
    (problem,) = [p for p in raised.value.problems if p.field == "start_of_production"]
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "start_of_production" in row)
    assert problem.line == line
    assert "start_of_production 2024-03-01 disagrees with the plant's sop 2024-02-01" in (
        problem.message
    )
    (tmp_path / "plant.yaml").write_text(PLANT + "sop: 2024-03-01\n")
    assert load_scenario(scenario).scenario.start_of_production == date(2024, 3, 1)
