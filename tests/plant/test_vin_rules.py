"""The plant's VIN rules: check digit required or none, and the model year in position 10."""

from __future__ import annotations

from typing import Any

import pytest

from linespeed.errors import PlantFileError, VinError
from linespeed.plant.load import DEFAULT_PLANT_PATH, load_plant, parse_plant
from linespeed.plant.model import Plant, VinSpec
from linespeed.plant.vin import check_digit, model_for_vin, nth_vin, validate_plant_vin
from tests.conftest import ingest, make_store
from tests.ingest.line import event

DEFAULT_TEXT = DEFAULT_PLANT_PATH.read_text()
DEFAULT_VIN_LINE = "vin: {wmi: LSP, plant_code: B, model_year: 2025}"


def plant_with(vin_section: str) -> Plant:
    """The default plant with another `vin:` section."""
    assert DEFAULT_VIN_LINE in DEFAULT_TEXT
    return parse_plant(DEFAULT_TEXT.replace(DEFAULT_VIN_LINE, vin_section), "plant.yaml")


def with_digit(vin: str, digit: str) -> str:
    return f"{vin[:8]}{digit}{vin[9:]}"


def wrong_digit(vin: str) -> str:
    """The VIN with a position-9 character that is not its check digit."""
    return with_digit(vin, "X" if check_digit(vin) != "X" else "0")


def test_check_digit_defaults_to_required() -> None:
    plant = load_plant(DEFAULT_PLANT_PATH)
    assert plant.vin.check_digit == "required"
    vin = wrong_digit(nth_vin(plant, "s7", 1))
    with pytest.raises(VinError) as raised:
        model_for_vin(plant, vin)
    assert raised.value.code == "vin.check_digit"


def test_check_digit_none_lets_position_9_be_any_vin_character() -> None:
    plant = plant_with("vin: {wmi: LSP, plant_code: B, model_year: 2025, check_digit: none}")
    assert plant.vin.check_digit == "none"
    vin = nth_vin(plant, "s7", 1)
    for char in "0X7AZ":
        assert model_for_vin(plant, with_digit(vin, char)).id == "s7"
    with pytest.raises(VinError) as raised:
        model_for_vin(plant, with_digit(vin, "I"))
    assert raised.value.code == "vin.invalid"
    assert "position 9" in raised.value.message


def test_check_digit_must_be_required_or_none() -> None:
    with pytest.raises(PlantFileError) as raised:
        plant_with("vin: {wmi: LSP, plant_code: B, check_digit: optional}")
    (problem,) = raised.value.problems
    assert problem.field == "vin.check_digit"
    lines = DEFAULT_TEXT.splitlines()
    assert problem.line == next(n for n, row in enumerate(lines, 1) if row.startswith("vin:"))
    assert "optional" in problem.message


@pytest.mark.parametrize("rule", ["required", "none"])
def test_position_10_must_be_a_model_year_code(rule: str) -> None:
    spec = VinSpec(wmi="LSP", plant_code="B", check_digit=rule)
    for code in "UZ0":
        draft = f"LSPA1S7E0{code}B000001"
        vin = with_digit(draft, check_digit(draft))
        with pytest.raises(VinError) as raised:
            validate_plant_vin(spec, vin)
        assert raised.value.code == "vin.invalid"
        assert f"position 10: {code!r} is not a model-year code" in raised.value.message


def test_model_year_allows_that_year_and_the_next() -> None:
    plant = plant_with("vin: {wmi: LSP, plant_code: B, model_year: 2025}")
    for year in (2025, 2026):
        assert model_for_vin(plant, nth_vin(plant, "s7", 5, model_year=year)).id == "s7"
    for year in (2024, 2027, 2030):
        vin = nth_vin(plant, "s7", 5, model_year=year)
        with pytest.raises(VinError) as raised:
            model_for_vin(plant, vin)
        assert raised.value.code == "vin.plant_mismatch"
        assert "position 10 (model year)" in raised.value.message
        assert "expected 'S' (2025) or 'T' (2026)" in raised.value.message


def test_without_model_year_any_year_code_is_accepted() -> None:
    plant = plant_with("vin: {wmi: LSP, plant_code: B}")
    for year in (1999, 2024, 2031):
        assert model_for_vin(plant, nth_vin(plant, "s7", 5, model_year=year)).id == "s7"


def test_a_plant_without_check_digit_ingests_such_cars(db_url: str) -> None:
    plant = plant_with("vin: {wmi: LSP, plant_code: B, model_year: 2025, check_digit: none}")
    engine = make_store(db_url, plant)
    try:
        good = wrong_digit(nth_vin(plant, "s7", 1))
        old_year = wrong_digit(nth_vin(plant, "s7", 2, model_year=2023))
        outcomes = ingest(
            engine,
            [
                event("unit.started", vin=good, model="s7", color="pearl-white"),
                event("unit.started", vin=old_year, model="s7", color="pearl-white"),
                event(
                    "station.completed", vin=with_digit(good, "I"), station="body-010", result="ok"
                ),
            ],
        )
    finally:
        engine.dispose()
    found: list[tuple[Any, ...]] = [(o.status, o.reason) for o in outcomes]
    assert found[0] == ("accepted", None)
    assert found[1] == ("rejected", "vin.plant_mismatch")
    assert "position 10 (model year)" in (outcomes[1].detail or "")
    assert found[2] == ("rejected", "vin.invalid")


def test_the_default_plant_still_refuses_a_wrong_check_digit(db_url: str) -> None:
    plant = load_plant(DEFAULT_PLANT_PATH)
    engine = make_store(db_url, plant)
    try:
        bad = wrong_digit(nth_vin(plant, "s7", 1))
        (outcome,) = ingest(
            engine, [event("unit.started", vin=bad, model="s7", color="pearl-white")]
        )
    finally:
        engine.dispose()
    assert (outcome.status, outcome.reason) == ("rejected", "vin.check_digit")
