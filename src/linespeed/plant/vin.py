"""VIN codec: check digit (ISO 3779, 49 CFR 565), model-year codes, and VINs of a plant's cars.

A VIN has 17 characters: world manufacturer id (positions 1-3), vehicle descriptor (4-8),
check digit (9), model-year code (10), plant code (11) and serial number (12-17).
`check_digit` and `validate_vin` run on every ingested event, so their common path is a
single `sum(map(...))` over precomputed per-position tables, with no per-call set-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import getitem

from linespeed.errors import LinespeedError, NotFoundError, VinError
from linespeed.plant.model import Model, Plant

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


def validate_vin(vin: str) -> None:
    """Check that `vin` is a well-formed VIN whose position 9 is its check digit.

    Raises VinError with code 'vin.invalid' if the length is not 17 or a character is
    forbidden (each bad position and character is named), or code 'vin.check_digit' if
    position 9 is not the computed check digit (the message gives expected and found).
    """
    try:
        if len(vin) == VIN_LENGTH and (
            _CHECK_CHARS[sum(map(getitem, _WEIGHTED, vin)) % 11] == vin[8]
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


def describe_vin(vin: str) -> VinParts:
    """Split a valid VIN into its sections.

    `model_years` is empty for a position-10 character that is no year code (U, Z, 0).
    Raises VinError as validate_vin does if the VIN is malformed or its check digit is wrong.
    """
    validate_vin(vin)
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

    Raises VinError as validate_vin does if the VIN is malformed or its check digit is
    wrong, or with code 'vin.plant_mismatch' if positions 1-3 are not the plant's WMI,
    position 11 not its plant code, or positions 4-8 not the VDS of any of its models;
    the message names each position that disagrees and what was expected.
    """
    validate_vin(vin)
    wmi, vds, plant_code = vin[0:3], vin[3:8], vin[10]
    model = next((candidate for candidate in plant.models if candidate.vds == vds), None)
    mismatches: list[str] = []
    if wmi != plant.vin.wmi:
        mismatches.append(f"positions 1-3 (WMI) are {wmi!r}, expected {plant.vin.wmi!r}")
    if model is None:
        known = ", ".join(f"{other.vds!r} ({other.id})" for other in plant.models)
        mismatches.append(f"positions 4-8 (VDS) are {vds!r}, expected one of {known}")
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
