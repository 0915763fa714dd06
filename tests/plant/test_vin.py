"""Tests of the VIN codec: check digit, validation messages, year codes, plant VINs."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linespeed.errors import LinespeedError, NotFoundError, VinError
from linespeed.plant.model import Line, Model, Plant, Station, VinSpec
from linespeed.plant.vin import (
    VIN_ALPHABET,
    VinParts,
    check_digit,
    describe_vin,
    model_for_vin,
    model_year_code,
    nth_vin,
    validate_vin,
)

# The standard's tables written out again, independently of the module under test.
TRANSLITERATION = (
    {digit: int(digit) for digit in "0123456789"}
    | {"A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8}
    | {"J": 1, "K": 2, "L": 3, "M": 4, "N": 5, "P": 7, "R": 9}
    | {"S": 2, "T": 3, "U": 4, "V": 5, "W": 6, "X": 7, "Y": 8, "Z": 9}
)
WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]


def reference_check_digit(vin: str) -> str:
    """The check digit computed the slow, obvious way."""
    total = sum(TRANSLITERATION[char] * weight for char, weight in zip(vin, WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def error_code(vin: str) -> str | None:
    """The code validate_vin raises for `vin`, or None if it passes."""
    try:
        validate_vin(vin)
    except VinError as error:
        return error.code
    return None


def make_plant(*, wmi: str = "LSP", plant_code: str = "B", model_year: int | None = 2025) -> Plant:
    """The plant of the design's example: models s7 and s9 on one line."""
    return Plant(
        plant="yz1",
        name="Yizhuang phase 1",
        timezone="Asia/Shanghai",
        vin=VinSpec(wmi=wmi, plant_code=plant_code, model_year=model_year),
        models=(
            Model(id="s7", vds="A1S7E", colors=("pearl-white", "milestone-gold")),
            Model(id="s9", vds="A1S9E", colors=("olive-green",)),
        ),
        lines=(
            Line(
                id="l1",
                takt_s=76,
                stations=(Station(id="body-010", area="body", cycle_s=70, buffer=2),),
            ),
        ),
    )


@pytest.fixture
def plant() -> Plant:
    return make_plant()


# -- check digit and validation ---------------------------------------------------------


def test_alphabet_is_digits_and_letters_without_i_o_q() -> None:
    assert len(VIN_ALPHABET) == 33
    assert set(VIN_ALPHABET) == set(TRANSLITERATION)
    assert not set(VIN_ALPHABET) & set("IOQ")


@pytest.mark.parametrize(
    ("vin", "digit"),
    [
        ("1M8GDM9AXKP042788", "X"),  # 49 CFR 565 example: remainder 10 -> X
        ("11111111111111111", "1"),  # sum of the weights is 89, 89 % 11 = 1
        ("1HGCM82633A004352", "3"),
        ("LSPA1S7E1SB012345", "1"),  # the design's example event
    ],
)
def test_known_valid_vins(vin: str, digit: str) -> None:
    assert reference_check_digit(vin) == digit
    assert check_digit(vin) == digit
    validate_vin(vin)


def test_weights_sum_to_89() -> None:
    assert sum(WEIGHTS) == 89


@pytest.mark.parametrize("placeholder", ["0", "X", "A", "_", "?", "i"])
def test_check_digit_ignores_position_9(placeholder: str) -> None:
    assert check_digit(f"1M8GDM9A{placeholder}KP042788") == "X"


@pytest.mark.parametrize("vin", ["1M8GDM9AXKP04278", "1M8GDM9AXKP0427880", "", "1"])
def test_check_digit_rejects_wrong_length(vin: str) -> None:
    with pytest.raises(VinError, match="must be 17 characters") as raised:
        check_digit(vin)
    assert raised.value.code == "vin.invalid"


def test_check_digit_rejects_forbidden_character() -> None:
    with pytest.raises(VinError, match=r"position 2: 'I'") as raised:
        check_digit("1I8GDM9AXKP042788")
    assert raised.value.code == "vin.invalid"


def test_bad_check_digit_says_expected_and_found() -> None:
    with pytest.raises(VinError) as raised:
        validate_vin("1M8GDM9A5KP042788")
    error = raised.value
    assert error.code == "vin.check_digit"
    assert error.vin == "1M8GDM9A5KP042788"
    assert "expected 'X'" in error.message
    assert "found '5'" in error.message
    assert isinstance(error, LinespeedError)


def test_letter_in_check_position_is_a_check_digit_error() -> None:
    with pytest.raises(VinError, match="expected 'X', found 'A'") as raised:
        validate_vin("1M8GDM9AAKP042788")
    assert raised.value.code == "vin.check_digit"


@pytest.mark.parametrize(
    ("vin", "length"),
    [("1M8GDM9AXKP04278", 16), ("1M8GDM9AXKP0427880", 18), ("", 0)],
)
def test_wrong_length(vin: str, length: int) -> None:
    with pytest.raises(VinError, match=f"must be 17 characters long, not {length}") as raised:
        validate_vin(vin)
    assert raised.value.code == "vin.invalid"


@pytest.mark.parametrize("letter", ["I", "O", "Q"])
def test_forbidden_letters(letter: str) -> None:
    vin = f"1M8G{letter}M9AXKP042788"
    with pytest.raises(VinError) as raised:
        validate_vin(vin)
    assert raised.value.code == "vin.invalid"
    assert f"position 5: '{letter}' is not allowed" in raised.value.message


def test_lower_case_is_invalid_not_upper_cased() -> None:
    with pytest.raises(VinError) as raised:
        validate_vin("1m8GDM9AXKP042788")
    assert raised.value.code == "vin.invalid"
    assert "position 2: 'm' is lower case" in raised.value.message
    with pytest.raises(VinError, match="lower case"):
        check_digit("1hgcm82633a004352")


def test_lower_case_forbidden_letter_is_called_forbidden() -> None:
    with pytest.raises(VinError, match="position 5: 'o' is not allowed"):
        validate_vin("1M8GoM9AXKP042788")


@pytest.mark.parametrize("char", ["-", " ", "é", "\x00", "٣"])
def test_non_vin_characters(char: str) -> None:
    with pytest.raises(VinError, match=re.escape(f"position 17: {char!r} is not a VIN character")):
        validate_vin(f"1M8GDM9AXKP04278{char}")


def test_every_bad_position_is_named() -> None:
    with pytest.raises(VinError) as raised:
        validate_vin("IM8GDM9AXKP04278o")
    assert "position 1: 'I'" in raised.value.message
    assert "position 17: 'o'" in raised.value.message


@given(st.text(alphabet=VIN_ALPHABET, min_size=16, max_size=16))
def test_check_digit_matches_reference(body: str) -> None:
    vin = f"{body[:8]}0{body[8:]}"
    assert check_digit(vin) == reference_check_digit(vin)


@pytest.mark.slow
@given(st.text(alphabet=VIN_ALPHABET, min_size=16, max_size=16))
def test_check_digit_detects_every_single_change_it_can(body: str) -> None:
    vin = f"{body[:8]}{check_digit(f'{body[:8]}0{body[8:]}')}{body[8:]}"
    assert error_code(vin) is None
    for index, original in enumerate(vin):
        if index == 8:
            continue
        for replacement in VIN_ALPHABET.replace(original, ""):
            changed = f"{vin[:index]}{replacement}{vin[index + 1 :]}"
            delta = (TRANSLITERATION[replacement] - TRANSLITERATION[original]) * WEIGHTS[index]
            expected = "vin.check_digit" if delta % 11 else None
            assert error_code(changed) == expected, (vin, index, replacement)


# -- model-year codes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "code"),
    [
        (1980, "A"),
        (1989, "K"),
        (2000, "Y"),
        (2001, "1"),
        (2009, "9"),
        (2010, "A"),
        (2019, "K"),
        (2025, "S"),
        (2030, "Y"),
        (2031, "1"),
        (2039, "9"),
    ],
)
def test_model_year_code(year: int, code: str) -> None:
    assert model_year_code(year) == code


def test_model_year_codes_cycle_every_30_years_without_confusable_characters() -> None:
    codes = [model_year_code(year) for year in range(1980, 2010)]
    assert len(set(codes)) == 30
    assert not set(codes) & set("IOQUZ0")
    assert codes == [model_year_code(year) for year in range(2010, 2040)]


@pytest.mark.parametrize("year", [1979, 2040, 0, -2025])
def test_model_year_out_of_range(year: int) -> None:
    with pytest.raises(LinespeedError, match=f"model year {year}") as raised:
        model_year_code(year)
    assert raised.value.code == "vin.model_year"
    assert not isinstance(raised.value, VinError)


# -- describe_vin ------------------------------------------------------------------------


def test_describe_vin() -> None:
    assert describe_vin("1M8GDM9AXKP042788") == VinParts(
        wmi="1M8",
        vds="GDM9A",
        check="X",
        year_code="K",
        model_years=(1989, 2019),
        plant_code="P",
        serial="042788",
    )


def test_describe_vin_of_a_year_code_with_no_year() -> None:
    draft = "LSPA1S7E0UB000001"
    vin = f"{draft[:8]}{check_digit(draft)}{draft[9:]}"
    assert describe_vin(vin).model_years == ()


def test_vin_parts_are_frozen() -> None:
    parts = describe_vin("11111111111111111")
    with pytest.raises(dataclasses.FrozenInstanceError):
        parts.serial = "000000"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("vin", "code"),
    [("1M8GDM9A5KP042788", "vin.check_digit"), ("1M8GDM9AXKP04278", "vin.invalid")],
)
def test_describe_vin_validates(vin: str, code: str) -> None:
    with pytest.raises(VinError) as raised:
        describe_vin(vin)
    assert raised.value.code == code


# -- model_for_vin -----------------------------------------------------------------------


def with_check_digit(draft: str) -> str:
    return f"{draft[:8]}{check_digit(draft)}{draft[9:]}"


def test_model_for_vin(plant: Plant) -> None:
    assert model_for_vin(plant, "LSPA1S7E1SB012345").id == "s7"
    assert model_for_vin(plant, with_check_digit("LSPA1S9E0SB000001")).id == "s9"


@pytest.mark.parametrize(
    ("draft", "named"),
    [
        ("LSXA1S7E0SB012345", ["positions 1-3 (WMI) are 'LSX', expected 'LSP'"]),
        (
            "LSPA1S8E0SB012345",
            ["positions 4-8 (VDS) are 'A1S8E', expected one of 'A1S7E' (s7), 'A1S9E' (s9)"],
        ),
        ("LSPA1S7E0SC012345", ["position 11 (plant code) is 'C', expected 'B'"]),
        (
            "ABCDEFGH0SZ012345",
            ["positions 1-3 (WMI)", "positions 4-8 (VDS)", "position 11 (plant code)"],
        ),
    ],
)
def test_model_for_vin_mismatch(plant: Plant, draft: str, named: list[str]) -> None:
    vin = with_check_digit(draft)
    with pytest.raises(VinError) as raised:
        model_for_vin(plant, vin)
    assert raised.value.code == "vin.plant_mismatch"
    assert raised.value.vin == vin
    assert "plant 'yz1'" in raised.value.message
    for text in named:
        assert text in raised.value.message
    assert raised.value.message.count("expected") == len(named)  # only what disagrees


@pytest.mark.parametrize(
    ("vin", "code"),
    [("LSPA1S7E2SB012345", "vin.check_digit"), ("LSPA1S7EISB012345", "vin.invalid")],
)
def test_model_for_vin_validates_first(plant: Plant, vin: str, code: str) -> None:
    with pytest.raises(VinError) as raised:
        model_for_vin(plant, vin)
    assert raised.value.code == code


# -- nth_vin -----------------------------------------------------------------------------


def test_nth_vin_of_the_design_example(plant: Plant) -> None:
    assert nth_vin(plant, "s7", 12345) == "LSPA1S7E1SB012345"


@pytest.mark.parametrize("n", [1, 42, 100_000, 300_000, 999_999])
@pytest.mark.parametrize("model_id", ["s7", "s9"])
def test_nth_vin_round_trip(plant: Plant, model_id: str, n: int) -> None:
    vin = nth_vin(plant, model_id, n)
    validate_vin(vin)
    parts = describe_vin(vin)
    assert parts.serial == f"{n:06d}"
    assert int(parts.serial) == n
    assert parts.year_code == "S"
    assert 2025 in parts.model_years
    assert (parts.wmi, parts.plant_code) == ("LSP", "B")
    assert model_for_vin(plant, vin) is plant.models_by_id[model_id]


def test_nth_vin_model_year_argument_overrides_plant(plant: Plant) -> None:
    vin = nth_vin(plant, "s7", 7, model_year=2031)
    assert describe_vin(vin).model_years == (2001, 2031)


def test_nth_vin_needs_a_model_year() -> None:
    plant = make_plant(model_year=None)
    with pytest.raises(LinespeedError, match="model year") as raised:
        nth_vin(plant, "s7", 1)
    assert raised.value.code == "vin.model_year"
    assert describe_vin(nth_vin(plant, "s7", 1, model_year=2019)).year_code == "K"


def test_nth_vin_model_year_out_of_range(plant: Plant) -> None:
    with pytest.raises(LinespeedError, match="model year 2040") as raised:
        nth_vin(plant, "s7", 1, model_year=2040)
    assert raised.value.code == "vin.model_year"


@pytest.mark.parametrize("n", [0, -1, 1_000_000])
def test_nth_vin_bounds(plant: Plant, n: int) -> None:
    with pytest.raises(LinespeedError, match=f"car number {n}") as raised:
        nth_vin(plant, "s7", n)
    assert raised.value.code == "vin.sequence"


def test_nth_vin_unknown_model(plant: Plant) -> None:
    with pytest.raises(NotFoundError, match=r"'s8'.*s7, s9") as raised:
        nth_vin(plant, "s8", 1)
    assert raised.value.code == "not_found"


def test_nth_vin_of_a_plant_that_cannot_make_vins() -> None:
    plant = make_plant(wmi="LOP")
    with pytest.raises(VinError, match="position 2: 'O' is not allowed") as raised:
        nth_vin(plant, "s7", 1)
    assert raised.value.code == "vin.invalid"
    assert "plant 'yz1'" in raised.value.message
