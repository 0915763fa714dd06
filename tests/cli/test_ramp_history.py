"""`linespeed ramp import-history`: the ramp's history from a CSV, checked through the library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from linespeed.plant.load import DEFAULT_PLANT_PATH
from linespeed.ramp.plant_ramp import plant_ramp
from linespeed.store.engine import open_store


def test_import_history_then_ramp_draws_it_first(run: Any, tmp_path: Path) -> None:
    plant_file = tmp_path / "plant.yaml"
    plant_file.write_text(DEFAULT_PLANT_PATH.read_text() + "sop: 2025-03-03\ncars_before: 4500\n")
    assert run("init", "--plant", str(plant_file)).exit_code == 0
    history = tmp_path / "history.csv"
    history.write_text("period,quantity\n2025-03,1200\n2025-04,2500\n2025-W19,800\n")
    result = run("ramp", "import-history", "--json", str(history))
    assert result.exit_code == 0
    assert result.json() == {
        "source": str(history),
        "periods": 3,
        "quantity": 4500,
        "first_day": "2025-03-01",
        "last_day": "2025-05-11",
        "cars_before": 4500,
    }
    body = run("ramp", "--json").json()
    assert body["plant"]["start_of_production"] == "2025-03-03"
    assert body["plant"]["cumulative"][-1] == ["2025-05-11", 4500.0]
    engine = open_store(None)
    try:
        series = plant_ramp(engine)
    finally:
        engine.dispose()
    assert series is not None and series.pairs()[-1][1] == 4500.0


def test_a_bad_history_file_names_file_line_and_field(run: Any, tmp_path: Path) -> None:
    assert run("init").exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("period,quantity\n2025-03,12\n2025-03-31,5\n")
    result = run("ramp", "import-history", str(bad))
    assert result.exit_code == 1
    assert f"{bad}:3: period: period '2025-03-31' is not a month YYYY-MM" in result.stderr
