"""A second plant for stores of several plants: yz2, the default plant under another id."""

from __future__ import annotations

from pathlib import Path

from linespeed.plant.load import DEFAULT_PLANT_PATH
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH

SECOND_SOP = "2025-01-06"
"""The second plant's start of production in its scenario."""


def second_plant(folder: Path) -> tuple[Path, Path]:
    """A plant file yz2 (VIN plant code C, Berlin time) and a scenario of it starting later."""
    plant_file = folder / "yz2.yaml"
    plant_file.write_text(
        DEFAULT_PLANT_PATH.read_text()
        .replace("plant: yz1", "plant: yz2")
        .replace("name: Yizhuang phase 1", "name: Yizhuang phase 2")
        .replace("plant_code: B", "plant_code: C")
        .replace("timezone: Asia/Shanghai", "timezone: Europe/Berlin")
    )
    lines = DEFAULT_SCENARIO_PATH.read_text().splitlines()
    scenario = [f"plant: {plant_file}"] + [
        line.replace("scenario: yz1-ramp", "scenario: yz2-ramp").replace(
            "start_of_production: 2024-03-01", f"start_of_production: {SECOND_SOP}"
        )
        for line in lines
        if not line.startswith("plant:")
    ]
    scenario_file = folder / "yz2-scenario.yaml"
    scenario_file.write_text("\n".join(scenario) + "\n")
    return plant_file, scenario_file
