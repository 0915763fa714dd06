"""Scenario files: the bundled one loads; bad ones are refused naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from linespeed.errors import ScenarioFileError
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, load_scenario

BASE = DEFAULT_SCENARIO_PATH.read_text()


def test_bundled_scenario_loads_with_the_default_plant() -> None:
    loaded = load_scenario(DEFAULT_SCENARIO_PATH)
    assert loaded.plant.plant == "yz1"
    assert loaded.scenario.ramp[-1].jph == pytest.approx(3600 / 76, rel=0.01)
    assert len(loaded.scenario.shift_pattern) >= 2


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


def _line_of(text: str, needle: str) -> int:
    return next(n for n, row in enumerate(text.splitlines(), 1) if needle in row)


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("ga-140: {cv: 0.06", "ga-999: {cv: 0.06", "cycle_time.stations.ga-999", "not on line"),
        (
            "ga-140: {mtbf_h: 12, mttr_min: 20}",
            "ga-140: {mtbf_h: 12, mttr_min: -20}",
            "failures.stations.ga-140.mttr_min",
            "must be >= 0.01",
        ),
        (
            "shifts: [A], days",
            "shifts: [N], days",
            "shift_pattern[0].shifts[0]",
            "not a shift of the plant",
        ),
        (
            "days: [mon, tue, wed, thu, fri]}",
            "days: [mon, tue, wed, thu, fry]}",
            "shift_pattern[0].days[4]",
            "fry",
        ),
        ("- {from: 2024-04-01, jph: 15}", "- {jph: 15}", "ramp[1].from", "required"),
        (
            "- {from: 2024-04-01, jph: 15}",
            "- {from: 2024-04-01, jph: 0}",
            "ramp[1].jph",
            "must be > 0",
        ),
        (
            "- {from: 2024-04-01, jph: 15}",
            "- {from: 2024-02-01, jph: 15}",
            "ramp[1].from",
            "dates must increase",
        ),
        (
            "wheel-align: {p_fail: 0.02",
            "wheel-alignment: {p_fail: 0.02",
            "defects.checks.wheel-alignment",
            "not made on line",
        ),
        (
            "rain-test: {p_fail: 0.015",
            "rain-test: {p_fail: 1.5",
            "defects.checks.rain-test.p_fail",
            "must be <= 1",
        ),
        ("BRK-2201: 2400", "BRK-9999: 2400", "lots.parts.BRK-9999", "in no BOM"),
        (
            "models: {s7: 0.65, x9: 0.35}",
            "models: {s7: 0.65, s9: 0.35}",
            "mix.models.s9",
            "not in the plant",
        ),
        ("line: l1", "line: l2", "line", "not in plant"),
        ("seed: 20240301", "seed: -1", "seed", "must be >= 0"),
        ("scrap: {p: 0.0003}", "scrap: {p: 0.0003, where: ga-140}", "scrap.where", "unknown field"),
        (
            "start_of_production: 2024-03-01",
            "start_of_production: 2024-02-20",
            "shift_pattern[0].from",
            "after start_of_production",
        ),
    ],
)
@pytest.mark.slow
def test_bad_scenario_names_line_and_field(
    tmp_path: Path, old: str, new: str, field: str, message: str
) -> None:
    assert old in BASE
    text = BASE.replace(old, new, 1)
    with pytest.raises(ScenarioFileError) as raised:
        load_scenario(_write(tmp_path, text))
    problems = raised.value.problems
    found = [p for p in problems if p.field == field]
    assert found, [str(p) for p in problems]
    assert message in found[0].message
    assert found[0].file.endswith("scenario.yaml")
    assert (
        found[0].line == _line_of(text, new.split(":")[0].strip("- {")) or found[0].line is not None
    )


def test_a_missing_plant_file_is_named(tmp_path: Path) -> None:
    text = BASE.replace("# plant: ../plants/yz1.yaml", "plant: no-such-plant.yaml")
    with pytest.raises(ScenarioFileError, match=r"no-such-plant\.yaml"):
        load_scenario(_write(tmp_path, text))


def test_a_missing_scenario_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ScenarioFileError, match=r"nope\.yaml"):
        load_scenario(tmp_path / "nope.yaml")
