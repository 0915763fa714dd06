"""VIN codec: check digit (ISO 3779, 49 CFR 565), model-year codes, and VINs of a plant's cars.

A VIN has 17 characters: world manufacturer id (positions 1-3), vehicle descriptor (4-8),
check digit (9), model-year code (10), plant code (11) and serial number (12-17).
`validate_vin` checks any VIN; `validate_plant_vin` and `model_for_vin` check a plant's VIN
against its `vin:` section (check digit required or not, model-year code and model year).
`check_digit` and `validate_vin` run on every ingested event, so their common path is a
single `sum(map(...))` over precomputed per-position tables, with no per-call set-up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from operator import getitem
from typing import TYPE_CHECKING

from linespeed.errors import LinespeedError, NotFoundError, VinError

if TYPE_CHECKING:
    from linespeed.plant.model import CheckDigit, Model, Plant, VinSpec

VIN_LENGTH = 17
VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
"""The 33 characters a VIN may hold: digits and upper-case A-Z without I, O and Q."""

FIRST_MODEL_YEAR = 1980
LAST_MODEL_YEAR = 2039
_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"  # 49 CFR 565.15: 1980 = A, repeating every 30
# Transliteration (49 CFR 565.15): digits as themselves, A-H 1-8, J-N 1-5, P 7, R 9, S-Z 2-9.
_VALUES: dict[str, int] = {
    char: int(value)
    for char, value in zip(VIN_ALPHABET, "012345678912345678123457923456789", strict=True)
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
# One table per position: character -> transliterated value * weight. Position 9 (weight 0)
# accepts any VIN character, so a wrong check digit is told apart from a forbidden one.
_WEIGHTED: tuple[dict[str, int], ...] = tuple(
    {char: value * weight for char, value in _VALUES.items()} for weight in _WEIGHTS
)
_CHECK_CHARS = "0123456789X"  # remainder 10 is written X
_FORBIDDEN = frozenset("IOQ")
_MODEL_YEARS: dict[str, tuple[int, ...]] = {
    code: tuple(range(FIRST_MODEL_YEAR + index, LAST_MODEL_YEAR + 1, len(_YEAR_CODES)))
    for index, code in enumerate(_YEAR_CODES)
}


@dataclass(frozen=True, slots=True)
class VinParts:
    """The sections of a valid VIN; `model_years` are the years (1980-2039) its year code means."""

    wmi: str
    vds: str
    check: str
    year_code: str
    model_years: tuple[int, ...]
    plant_code: str
    serial: str


def _char_problem(position: int, char: str) -> str:
    where = f"position {position}: {char!r}"
    if char.upper() in _FORBIDDEN:
        return f"{where} is not allowed (VINs never use I, O or Q)"
    if char.upper() in _VALUES:
        return f"{where} is lower case (VINs are upper case only)"
    return f"{where} is not a VIN character (digits and A-Z without I, O, Q)"


def _form_problems(vin: str, *, skip_check_position: bool = False) -> list[str]:
    """Every problem of length or characters in `vin`; empty if it is well formed."""
    if len(vin) != VIN_LENGTH:
        return [f"must be {VIN_LENGTH} characters long, not {len(vin)}"]
    return [
        _char_problem(position, char)
        for position, char in enumerate(vin, start=1)
        if char not in _VALUES and not (skip_check_position and position == 9)
    ]


def check_digit(vin: str) -> str:
    """The check digit ('0'-'9' or 'X') a 17-character VIN must carry in position 9.

    Whatever is in position 9 of `vin` is ignored, so a placeholder may stand there.
    Raises VinError (code 'vin.invalid') if `vin` is not 17 characters long or any other
    position holds a character outside VIN_ALPHABET.
    """
    if len(vin) == VIN_LENGTH:
        body = vin if vin[8] in _VALUES else f"{vin[:8]}0{vin[9:]}"
        try:
            return _CHECK_CHARS[sum(map(getitem, _WEIGHTED, body)) % 11]
        except KeyError:
            pass
    raise VinError(vin, "; ".join(_form_problems(vin, skip_check_position=True)))


def validate_vin(vin: str, check_digit_rule: CheckDigit = "required") -> None:
    """Check that `vin` is a well-formed VIN whose position 9 is its check digit.

    With `check_digit_rule` "none" (plants in Europe), position 9 may be any VIN character.
    Raises VinError with code 'vin.invalid' if the length is not 17 or a character is
    forbidden (each bad position and character is named), or code 'vin.check_digit' if
    position 9 is not the computed check digit (the message gives expected and found).
    """
    try:
        if len(vin) == VIN_LENGTH and (
            _CHECK_CHARS[sum(map(getitem, _WEIGHTED, vin)) % 11] == vin[8]
            or check_digit_rule == "none"
        ):
            return
    except KeyError:
        pass
    problems = _form_problems(vin)
    if problems:
        raise VinError(vin, "; ".join(problems))
    raise VinError(
        vin,
        f"check digit (position 9) is wrong: expected {check_digit(vin)!r}, found {vin[8]!r}",
        code="vin.check_digit",
    )


def _year_code_text(code: str, near: int) -> str:
    """`code` with the model year it means closest to `near`, e.g. "'S' (2025)"."""
    years = _MODEL_YEARS.get(code, ())
    if not years:
        return repr(code)
    return f"{code!r} ({min(years, key=lambda year: abs(year - near))})"


def _check_plant_form(spec: VinSpec, vin: str) -> None:
    """Form, check digit (as the plant requires) and a model-year code in position 10."""
    validate_vin(vin, spec.check_digit)
    if vin[9] not in _MODEL_YEARS:
        raise VinError(
            vin,
            f"position 10: {vin[9]!r} is not a model-year code (49 CFR 565.15: digits 1-9 and "
            "letters A-Y other than I, O, Q and U)",
        )


def _model_year_mismatch(spec: VinSpec, vin: str) -> str | None:
    """What is wrong with position 10 for the plant's `vin.model_year`, or None."""
    year = spec.model_year
    if year is None:
        return None
    allowed = [
        _YEAR_CODES[(each - FIRST_MODEL_YEAR) % len(_YEAR_CODES)] for each in (year, year + 1)
    ]
    if vin[9] in allowed:
        return None
    return (
        f"position 10 (model year) is {_year_code_text(vin[9], year)}, expected "
        f"{allowed[0]!r} ({year}) or {allowed[1]!r} ({year + 1}) for vin.model_year {year}"
    )


def validate_plant_vin(spec: VinSpec, vin: str) -> None:
    """Check `vin` against a plant's `vin:` rules, not its WMI, descriptor or plant code.

    Position 9 must be the check digit unless `spec.check_digit` is "none"; position 10
    must be a model-year code, and when `spec.model_year` is set, that year's or the next's.
    Raises VinError: 'vin.invalid' for a bad length or character or no year code in
    position 10, 'vin.check_digit' as validate_vin does, 'vin.plant_mismatch' for another
    model year (the position is named).
    """
    _check_plant_form(spec, vin)
    mismatch = _model_year_mismatch(spec, vin)
    if mismatch is not None:
        raise VinError(vin, mismatch, code="vin.plant_mismatch")


def describe_vin(vin: str, spec: VinSpec | None = None) -> VinParts:
    """Split a valid VIN into its sections, checked against a plant's `spec` if given.

    `model_years` is empty for a position-10 character that is no year code (U, Z, 0).
    Raises VinError as validate_vin does if the VIN is malformed or its check digit is wrong,
    and with a `spec`, as validate_plant_vin does.
    """
    if spec is None:
        validate_vin(vin)
    else:
        validate_plant_vin(spec, vin)
    return VinParts(
        wmi=vin[0:3],
        vds=vin[3:8],
        check=vin[8],
        year_code=vin[9],
        model_years=_MODEL_YEARS.get(vin[9], ()),
        plant_code=vin[10],
        serial=vin[11:17],
    )


def model_year_code(year: int) -> str:
    """The position-10 code of a model year (49 CFR 565.15), e.g. 2019 -> 'K', 2031 -> '1'.

    Raises LinespeedError (code 'vin.model_year') if `year` is outside 1980-2039.
    """
    if not FIRST_MODEL_YEAR <= year <= LAST_MODEL_YEAR:
        span = f"{FIRST_MODEL_YEAR}-{LAST_MODEL_YEAR}"
        message = f"model year {year} has no VIN year code (codes cover {span})"
        raise LinespeedError(message, code="vin.model_year")
    return _YEAR_CODES[(year - FIRST_MODEL_YEAR) % len(_YEAR_CODES)]


def model_for_vin(plant: Plant, vin: str) -> Model:
    """The model of `plant` a VIN belongs to, found by its VDS (positions 4-8).

    Raises VinError as validate_plant_vin does if the VIN is malformed, its check digit is
    wrong (when the plant requires one) or position 10 holds no model-year code, or with
    code 'vin.plant_mismatch' if positions 1-3 are not the plant's WMI, positions 4-8 not
    the VDS of any of its models, position 10 not its model year or the next (when
    `vin.model_year` is set) or position 11 not its plant code; the message names each
    position that disagrees and what was expected.
    """
    _check_plant_form(plant.vin, vin)
    wmi, vds, plant_code = vin[0:3], vin[3:8], vin[10]
    model = next((candidate for candidate in plant.models if candidate.vds == vds), None)
    mismatches: list[str] = []
    if wmi != plant.vin.wmi:
        mismatches.append(f"positions 1-3 (WMI) are {wmi!r}, expected {plant.vin.wmi!r}")
    if model is None:
        known = ", ".join(f"{other.vds!r} ({other.id})" for other in plant.models)
        mismatches.append(f"positions 4-8 (VDS) are {vds!r}, expected one of {known}")
    year_mismatch = _model_year_mismatch(plant.vin, vin)
    if year_mismatch is not None:
        mismatches.append(year_mismatch)
    if plant_code != plant.vin.plant_code:
        mismatches.append(
            f"position 11 (plant code) is {plant_code!r}, expected {plant.vin.plant_code!r}"
        )
    if mismatches or model is None:
        raise VinError(
            vin,
            f"not a VIN of plant {plant.plant!r}: " + "; ".join(mismatches),
            code="vin.plant_mismatch",
        )
    return model


def nth_vin(plant: Plant, model_id: str, n: int, model_year: int | None = None) -> str:
    """The VIN of the `n`th car (n >= 1) of a model: WMI, VDS, check digit, year, plant, serial.

    The serial (positions 12-17) is `n` in six digits; `model_year` defaults to the plant's
    `vin.model_year`. Raises NotFoundError if the plant has no model `model_id`;
    LinespeedError with code 'vin.sequence' if `n` is outside 1-999999, or 'vin.model_year'
    if no model year is known or it is outside 1980-2039; VinError ('vin.invalid') if the
    plant's WMI or plant code or the model's VDS cannot make a valid VIN.
    """
    model = plant.models_by_id.get(model_id)
    if model is None:
        known = ", ".join(plant.models_by_id)
        raise NotFoundError(f"plant {plant.plant!r} has no model {model_id!r} (models: {known})")
    if not 1 <= n <= 999_999:
        raise LinespeedError(
            f"car number {n} has no VIN serial (serials run 1-999999)", code="vin.sequence"
        )
    year = plant.vin.model_year if model_year is None else model_year
    if year is None:
        raise LinespeedError(
            f"no model year given and plant {plant.plant!r} sets no vin.model_year",
            code="vin.model_year",
        )
    draft = f"{plant.vin.wmi}{model.vds}0{model_year_code(year)}{plant.vin.plant_code}{n:06d}"
    problems = _form_problems(draft)
    if problems:
        raise VinError(
            draft,
            f"plant {plant.plant!r} (vin.wmi, vin.plant_code) and model {model_id!r} (vds) "
            f"make no valid VIN: " + "; ".join(problems),
        )
    return f"{draft[:8]}{check_digit(draft)}{draft[9:]}"


@dataclass(frozen=True, slots=True)
class VinVerdict:
    """The outcome of checking one VIN: its sections if valid, else the reason code and why."""

    vin: str
    parts: VinParts | None
    reason: str | None = None
    detail: str | None = None

    @property
    def valid(self) -> bool:
        """Whether the VIN passed."""
        return self.parts is not None


def check_vins(vins: Iterable[str], spec: VinSpec | None = None) -> list[VinVerdict]:
    """Check each VIN, as any VIN (ISO 3779) or, with a plant's `spec`, by the plant's rules.

    Never raises for a bad VIN: each verdict carries the reason code and message instead.
    """
    verdicts: list[VinVerdict] = []
    for vin in vins:
        try:
            verdicts.append(VinVerdict(vin, describe_vin(vin, spec)))
        except VinError as error:
            verdicts.append(VinVerdict(vin, None, error.code, error.message))
    return verdicts


def vin_rules_text(spec: VinSpec) -> str:
    """The plant's VIN rules in words: the check digit, and the model year if one is set."""
    if spec.check_digit == "none":
        text = "uses no check digit (vin.check_digit: none): position 9 may be any VIN character"
    else:
        text = "requires the check digit in position 9 (vin.check_digit: required)"
    if spec.model_year is not None:
        year = spec.model_year
        codes = [
            _YEAR_CODES[(each - FIRST_MODEL_YEAR) % len(_YEAR_CODES)] for each in (year, year + 1)
        ]
        text += f"; position 10 is model year {year} ({codes[0]}) or {year + 1} ({codes[1]})"
    return text
