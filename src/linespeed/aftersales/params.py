"""The planning parameters: defaults in `defaults.yaml`, any of them overridden by a file.

Each parameter is a number with a range; a parameters file is a YAML mapping naming some
of them. Problems name the file, the line and the parameter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Final

import yaml

from linespeed.aftersales.errors import AftersalesFileError
from linespeed.errors import FileProblem
from linespeed.yamlfile import did_you_mean

DEFAULTS_PATH: Final = Path(__file__).with_name("defaults.yaml")
"""The shipped defaults, each with its source in a comment."""
MAX_PARAMS_BYTES: Final = 64 * 1024

_RANGES: Final[dict[str, tuple[float, float, bool]]] = {
    # name: (lowest, highest, lowest allowed itself)
    "retention": (0.0, 1.0, False),
    "visits_per_vehicle_year": (0.0, 100.0, True),
    "bay_hours_per_visit": (0.0, 1000.0, True),
    "shifts_per_day": (0.0, 24.0, False),
    "hours_per_shift": (0.0, 24.0, False),
    "days_per_month": (0.0, 31.0, False),
    "utilisation": (0.0, 1.0, False),
    "chargers_per_1000": (0.0, 1000.0, True),
}


@dataclass(frozen=True)
class Parameters:
    """The numbers that turn a fleet into service bays and chargers (see defaults.yaml)."""

    retention: float
    """Share of the fleet still in operation a year later."""
    visits_per_vehicle_year: float
    bay_hours_per_visit: float
    shifts_per_day: float
    hours_per_shift: float
    days_per_month: float
    utilisation: float
    chargers_per_1000: float

    @property
    def bay_hours_per_bay_month(self) -> float:
        """Hours one bay can be worked in a month: shifts x hours x days x utilisation."""
        return self.shifts_per_day * self.hours_per_shift * self.days_per_month * self.utilisation


def default_parameters() -> Parameters:
    """The shipped defaults (defaults.yaml)."""
    return _parse(DEFAULTS_PATH.read_bytes(), str(DEFAULTS_PATH), None)


def parse_parameters(data: bytes, source: str) -> Parameters:
    """The defaults with the values of the parameters file `data` (named `source`).

    Raises AftersalesFileError naming file:line:parameter for a file that is not a YAML
    mapping, an unknown parameter, or a value that is not a number in its range.
    """
    return _parse(data, source, default_parameters())


def _parse(data: bytes, source: str, base: Parameters | None) -> Parameters:
    def fail(line: int | None, field: str, message: str) -> AftersalesFileError:
        return AftersalesFileError([FileProblem(source, line, field, message)])

    if len(data) > MAX_PARAMS_BYTES:
        raise fail(None, "", f"the file has {len(data):,} bytes; at most {MAX_PARAMS_BYTES:,}")
    try:
        node = yaml.compose(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise fail(None, "", "is not UTF-8 text") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise fail(line, "", f"is not YAML: {getattr(error, 'problem', error)}") from None
    if node is None:
        if base is None:
            raise fail(1, "", "the file is empty")
        return base
    if not isinstance(node, yaml.MappingNode):
        raise fail(node.start_mark.line + 1, "", "is not a mapping of parameter: value")
    names = [field.name for field in fields(Parameters)]
    values: dict[str, float] = {}
    problems: list[FileProblem] = []
    for key, value in node.value:
        line = key.start_mark.line + 1
        name = str(key.value)
        if name not in names:
            problems.append(
                FileProblem(source, line, name, f"unknown parameter{did_you_mean(name, names)}")
            )
            continue
        if name in values:
            problems.append(FileProblem(source, line, name, "named twice"))
            continue
        number = _number(value)
        low, high, low_ok = _RANGES[name]
        if number is None or not (low <= number <= high) or (number == low and not low_ok):
            above = f">= {low:g}" if low_ok else f"> {low:g}"
            problems.append(
                FileProblem(
                    source,
                    value.start_mark.line + 1,
                    name,
                    f"{value.value!r} is not a number {above} and <= {high:g}",
                )
            )
            continue
        values[name] = number
    if problems:
        raise AftersalesFileError(problems)
    if base is None:
        missing = [name for name in names if name not in values]
        if missing:
            raise fail(None, missing[0], "missing from the defaults")
        return Parameters(**values)
    return replace(base, **values)


def _number(node: yaml.Node) -> float | None:
    if not isinstance(node, yaml.ScalarNode) or node.style not in (None, ""):
        return None
    text = str(node.value).replace("_", "")
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
