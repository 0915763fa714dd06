"""The scenario file: what the simulator needs beyond the plant file (contract in docs/scenario.md).

A scenario names a plant file and adds cycle-time distributions, failures, the shift pattern
over time, the ramp plan, defect and scrap rates, supplier lot sizes, the model and colour
mix, the start of production and the seed. Every problem names its file, line and field.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from linespeed.errors import FileProblem, ScenarioFileError
from linespeed.plant.load import DEFAULT_PLANT_PATH, load_plant
from linespeed.plant.model import Id, Plant
from linespeed.sim.errors import SimInputError
from linespeed.sim.overrides import Override, apply_overrides, parse_path
from linespeed.yamlfile import YamlTree, did_you_mean, load_model

DEFAULT_SCENARIO_PATH = Path(__file__).parent / "default-scenario.yaml"
"""The bundled scenario: the default plant from start of production to 300,000 cars."""

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class CycleTime(_Frozen):
    """A station's processing time: lognormal, mean from the plant's cycle_s unless given."""

    mean_s: Positive | None = None
    cv: float = Field(default=0.05, ge=0, le=2, allow_inf_nan=False)
    start_factor: float = Field(default=1.0, ge=1, le=10, allow_inf_nan=False)
    """How much slower than `mean_s` the station runs at start of production."""
    halflife_days: Positive = 60
    """Days for the extra time at start of production to halve (learning curve)."""


class CycleTimes(_Frozen):
    """Cycle-time distributions: a default, and overrides by station id."""

    default: CycleTime = CycleTime()
    stations: dict[Id, CycleTime] = {}


class Failure(_Frozen):
    """Random stops of a station: exponential time between failures and to repair (working time)."""

    mtbf_h: float = Field(ge=0.1, le=1e6, allow_inf_nan=False)
    """Operating hours between failures (at least 0.1: a station failing every few minutes
    would plan more failures than a run can hold)."""
    mttr_min: float = Field(ge=0.01, le=1e6, allow_inf_nan=False)


class Failures(_Frozen):
    """Failure rates: a default (none when omitted), and overrides by station id."""

    default: Failure | None = None
    stations: dict[Id, Failure] = {}


class ShiftPeriod(_Frozen):
    """From a date on, which of the plant's shifts run on which weekdays."""

    start: date = Field(alias="from")
    shifts: tuple[str, ...] = Field(min_length=1)
    days: tuple[Weekday, ...] = Field(default=("mon", "tue", "wed", "thu", "fri"), min_length=1)


class RampStep(_Frozen):
    """From a date on, the planned rate in jobs per hour of working time."""

    start: date = Field(alias="from")
    jph: Positive


class Defect(_Frozen):
    """How often a check fails, and the rework it takes at the next quality gate."""

    p_fail: Probability = 0.0
    rework_min: float = Field(default=10.0, ge=0, allow_inf_nan=False)


class Defects(_Frozen):
    """Defect rates: a default for every check, and overrides by check name."""

    default: Defect = Defect()
    checks: dict[Id, Defect] = {}


class Scrap(_Frozen):
    """The share of cars scrapped, at a station drawn uniformly along the line."""

    p: Probability = 0.0


class Lots(_Frozen):
    """Supplier lot sizes of lot-tracked parts: a default, and overrides by part number."""

    default: int = Field(default=1000, gt=0)
    parts: dict[str, Annotated[int, Field(gt=0)]] = {}


class Mix(_Frozen):
    """Shares of models, and of colours per model (default: even over non-milestone colours)."""

    models: dict[Id, Positive] = {}
    colors: dict[Id, dict[Id, Positive]] = {}


class Shipping(_Frozen):
    """Hours from completion to shipping (mean of an exponential delay), and the destination."""

    delay_h: float = Field(default=8.0, ge=0, allow_inf_nan=False)
    destination: str = "yard"


class Shortage(_Frozen):
    """A supplier that ships nothing for a while (the older form of `supply`, translated).

    Read as: the part comes just in time (no lead time, no cover) in lots of its `lots`
    size, from a supplier with unlimited capacity except none from `from` for `hours`.
    """

    part: str
    start: date = Field(alias="from")
    hours: Positive


class CapacityStep(_Frozen):
    """From a date on (midnight, plant time), how many pieces a supplier can make per week."""

    start: date = Field(alias="from")
    per_week: float = Field(ge=0)
    """`unlimited` (read as infinity) or a number of pieces."""

    @field_validator("per_week", mode="before")
    @classmethod
    def _unlimited(cls, value: object) -> object:
        return math.inf if value == "unlimited" else value


class PartSupply(_Frozen):
    """How one part reaches the plant: supplier, capacity over time, lead time, lots, stock.

    Fields left out take the value of `supply.default`.
    """

    supplier: Id | None = None
    """Who ships it; the BOM line's supplier if omitted."""
    capacity: tuple[CapacityStep, ...] | None = Field(default=None, min_length=1)
    """Pieces per week from a date on; before the first step, the first step's rate."""
    lead_time_days: float | None = Field(default=None, ge=0, le=365, allow_inf_nan=False)
    """Days from the supplier finishing a lot to its receipt at the plant."""
    cover_days: float | None = Field(default=None, ge=0, le=365, allow_inf_nan=False)
    """How many days before the plan needs them the plant calls parts off (safety stock)."""
    lot_size: int | None = Field(default=None, gt=0)
    """Pieces per delivery: each is one lot (one receipt); the `lots` size if omitted."""
    opening_stock: int | None = Field(default=None, ge=0)
    """Pieces on hand at start of production, received at its midnight in whole lots."""


class SupplyDefault(_Frozen):
    """Supply of every part not listed under `supply.parts`, and of the fields they omit."""

    capacity: tuple[CapacityStep, ...] = ()
    """Empty: unlimited."""
    lead_time_days: float = Field(default=1.0, ge=0, le=365, allow_inf_nan=False)
    cover_days: float = Field(default=2.0, ge=0, le=365, allow_inf_nan=False)
    opening_stock: int = Field(default=0, ge=0)


class Supply(_Frozen):
    """Parts supply: a default for every part, and settings by part number."""

    default: SupplyDefault = SupplyDefault()
    parts: dict[str, PartSupply] = {}


class Resume(_Frozen):
    """Where a run starts when the plant has already built cars (a twin, `linespeed twin`).

    The line starts empty at `at` and releases cars from then on; `cars` were completed
    before it, so car N is the run's (N - cars)-th. The learning curves keep counting days
    from the start of production.
    """

    at: AwareDatetime
    cars: int = Field(ge=0)


class Scenario(_Frozen):
    """A simulation scenario for one line of a plant."""

    scenario: Id
    plant: str | None = None
    """The plant file, relative to the scenario file; the bundled default plant if omitted."""
    line: Id | None = None
    seed: int = Field(ge=0)
    start_of_production: date
    shift_pattern: tuple[ShiftPeriod, ...] = Field(min_length=1)
    ramp: tuple[RampStep, ...] = Field(min_length=1)
    cycle_time: CycleTimes = CycleTimes()
    failures: Failures = Failures()
    defects: Defects = Defects()
    scrap: Scrap = Scrap()
    lots: Lots = Lots()
    mix: Mix = Mix()
    shipping: Shipping = Shipping()
    supply: Supply = Supply()
    shortages: tuple[Shortage, ...] = ()
    """Deprecated: translated to a supplier capacity of 0 for the period (docs/scenario.md)."""
    resume: Resume | None = None
    """Start the run where the plant is (a twin); from start of production when omitted."""
    uncertainty: dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]] = {}
    """Path -> standard deviation: each run draws the value anew (`sim.uncertainty`)."""

    def cars_before(self) -> int:
        """Cars completed before the run starts (`resume.cars`, else 0)."""
        return 0 if self.resume is None else self.resume.cars


class LoadedScenario(BaseModel):
    """A validated scenario with its plant."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    scenario: Scenario
    plant: Plant
    source: str


def load_scenario(
    path: str | os.PathLike[str], overrides: Sequence[Override] = ()
) -> LoadedScenario:
    """Read a scenario file and the plant it names, and check one against the other.

    `overrides` (`sim.overrides.parse_override`) are set in the file's data before it is
    validated; SimInputError (sim.input) if a path is not in the file.

    Raises ScenarioFileError listing every problem (file, line, field), or PlantFileError
    if the plant file it names is invalid.
    """
    file = os.fspath(path)
    try:
        text = Path(file).read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ScenarioFileError(
            [FileProblem(file, None, "", f"cannot be read: {error.strerror or error}")]
        ) from None
    return parse_scenario(text, file, overrides)


def parse_scenario(
    text: str, source: str, overrides: Sequence[Override] = (), *, plant: Plant | None = None
) -> LoadedScenario:
    """A scenario from its YAML `text` (`source` names it in errors), checked against `plant`
    or, when None, the plant file it names (relative to `source`).

    Raises ScenarioFileError, PlantFileError or SimInputError as `load_scenario` does.
    """
    plant_path = _plant_path(text, source)

    def cross_checks(data: dict[str, Any], tree: YamlTree) -> Iterator[FileProblem]:
        yield from _check_against_plant(data, tree, plant_path, plant)

    scenario = load_model(
        text,
        source,
        Scenario,
        cross_checks,
        error=ScenarioFileError,
        what="scenario",
        prepare=(lambda data: apply_overrides(data, overrides)) if overrides else None,
    )
    return LoadedScenario(scenario=scenario, plant=plant or load_plant(plant_path), source=source)


def _plant_path(text: str, file: str) -> Path:
    try:
        raw = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError):  # reported with its line by the full load
        raw = None
    name = raw.get("plant") if isinstance(raw, dict) else None
    if not isinstance(name, str):
        return DEFAULT_PLANT_PATH
    return (Path(file).parent / name).resolve()


def _check_against_plant(
    data: dict[str, Any], tree: YamlTree, plant_path: Path, given: Plant | None
) -> Iterator[FileProblem]:
    try:
        plant = given or load_plant(plant_path)
    except Exception:  # the plant's own problems are reported when it is loaded
        if data.get("plant") is not None and not plant_path.exists():
            yield tree.problem(("plant",), f"plant file {str(plant_path)!r} does not exist")
        return
    sop = data.get("start_of_production")
    if plant.sop is not None and isinstance(sop, date) and sop != plant.sop:
        message = (
            f"start_of_production {sop} disagrees with the plant's sop {plant.sop} "
            f"(plant {plant.plant!r}); set the same day in both, or leave one out"
        )
        yield tree.problem(("start_of_production",), message)
    lines = {line.id: line for line in plant.lines}
    line_id = data.get("line") or plant.lines[0].id
    if line_id not in lines:
        yield tree.problem(
            ("line",),
            f"line {line_id!r} is not in plant {plant.plant!r}" + did_you_mean(str(line_id), lines),
        )
        return
    stations = {station.id for station in lines[line_id].stations}
    checks = {check for station in lines[line_id].stations for check in station.checks}
    parts = {bom.part for model in plant.models for bom in model.parts}
    shifts = {shift.name for shift in plant.shifts}
    for section in ("cycle_time", "failures"):
        overrides = (data.get(section) or {}).get("stations") or {}
        for station in overrides if isinstance(overrides, dict) else ():
            if station not in stations:
                message = f"station {station!r} is not on line {line_id!r}" + did_you_mean(
                    str(station), stations
                )
                yield tree.problem((section, "stations", station), message)
    for check in (data.get("defects") or {}).get("checks") or {}:
        if check not in checks:
            yield tree.problem(
                ("defects", "checks", check),
                f"check {check!r} is not made on line {line_id!r}"
                + did_you_mean(str(check), checks),
            )
    for part in (data.get("lots") or {}).get("parts") or {}:
        if part not in parts:
            yield tree.problem(
                ("lots", "parts", part),
                f"part {part!r} is in no BOM of the plant" + did_you_mean(str(part), parts),
            )
    supply_parts = (
        (data.get("supply") or {}).get("parts") if isinstance(data.get("supply"), dict) else None
    )
    for part, setting in (supply_parts or {}).items() if isinstance(supply_parts, dict) else ():
        if part not in parts:
            yield tree.problem(
                ("supply", "parts", part),
                f"part {part!r} is in no BOM of the plant" + did_you_mean(str(part), parts),
            )
        if isinstance(setting, dict):
            yield from _increasing(
                setting.get("capacity"), ("supply", "parts", part, "capacity"), tree
            )
    supply_default = data.get("supply") or {}
    if isinstance(supply_default, dict) and isinstance(supply_default.get("default"), dict):
        yield from _increasing(
            supply_default["default"].get("capacity"), ("supply", "default", "capacity"), tree
        )
    for index, shortage in enumerate(data.get("shortages") or []):
        if isinstance(shortage, dict) and shortage.get("part") not in parts:
            yield tree.problem(
                ("shortages", index, "part"),
                f"part {shortage.get('part')!r} is in no BOM of the plant",
            )
    for index, period in enumerate(data.get("shift_pattern") or []):
        for k, name in enumerate(period.get("shifts") or [] if isinstance(period, dict) else []):
            if name not in shifts:
                known = ", ".join(sorted(shifts)) or "none"
                message = f"shift {name!r} is not a shift of the plant ({known})"
                yield tree.problem(("shift_pattern", index, "shifts", k), message)
    yield from _check_dates(data, tree)
    yield from _check_mix(data, tree, plant)
    yield from _check_uncertainty(data, tree)


def _check_uncertainty(data: dict[str, Any], tree: YamlTree) -> Iterator[FileProblem]:
    """Each path of `uncertainty` names a number of the file (`--set` spelling)."""
    listed = data.get("uncertainty")
    for path_text in listed if isinstance(listed, dict) else ():
        try:
            path = parse_path(str(path_text))
        except SimInputError as error:
            yield tree.problem(("uncertainty", path_text), error.message)
            continue
        value: Any = data
        for step in path:
            found = (isinstance(value, dict) and step in value) or (
                isinstance(value, list) and isinstance(step, int) and step < len(value)
            )
            if not found:
                message = f"{path_text!r} is not a value of this file"
                yield tree.problem(("uncertainty", path_text), message)
                break
            value = value[step]
        else:
            if isinstance(value, bool) or not isinstance(value, int | float):
                held = (
                    f"a {'list' if isinstance(value, list) else 'mapping'}"
                    if isinstance(value, list | dict)
                    else repr(value)
                )
                message = f"{path_text!r} holds {held}, not a number: it cannot be drawn"
                yield tree.problem(("uncertainty", path_text), message)


def _increasing(steps: Any, path: tuple[str | int, ...], tree: YamlTree) -> Iterator[FileProblem]:
    """Problems with capacity steps: `from` dates that do not increase, a last step of 0."""
    last = steps[-1] if isinstance(steps, list) and steps else None
    if isinstance(last, dict) and last.get("per_week") == 0:
        yield tree.problem(
            (*path, len(steps) - 1, "per_week"),
            "the last step ships nothing: the part would never come again",
        )
    previous: Any = None
    for index, step in enumerate(steps if isinstance(steps, list) else []):
        start = step.get("from") if isinstance(step, dict) else None
        if not isinstance(start, date):
            continue
        if previous is not None and start <= previous:
            yield tree.problem(
                (*path, index, "from"), f"dates must increase: {start} is not after {previous}"
            )
        previous = start


def _check_dates(data: dict[str, Any], tree: YamlTree) -> Iterator[FileProblem]:
    sop = data.get("start_of_production")
    resume = data.get("resume")
    at = resume.get("at") if isinstance(resume, dict) else None
    if isinstance(at, datetime) and isinstance(sop, date) and at.date() < sop:
        message = f"the run cannot resume at {at.isoformat()}, before start_of_production {sop}"
        yield tree.problem(("resume", "at"), message)
    for section in ("shift_pattern", "ramp"):
        previous: Any = None
        for index, step in enumerate(data.get(section) or []):
            start = step.get("from") if isinstance(step, dict) else None
            if not isinstance(start, date):
                continue
            if index == 0 and isinstance(sop, date) and start > sop:
                message = (
                    f"the first period starts {start}, after start_of_production {sop}: "
                    "nothing is planned before it"
                )
                yield tree.problem((section, index, "from"), message)
            if previous is not None and start <= previous:
                yield tree.problem(
                    (section, index, "from"),
                    f"dates must increase: {start} is not after {previous}",
                )
            previous = start


def _check_mix(data: dict[str, Any], tree: YamlTree, plant: Plant) -> Iterator[FileProblem]:
    mix = data.get("mix") or {}
    if not isinstance(mix, dict):
        return
    for model in mix.get("models") or {}:
        if model not in plant.models_by_id:
            yield tree.problem(
                ("mix", "models", model),
                f"model {model!r} is not in the plant"
                + did_you_mean(str(model), plant.models_by_id),
            )
    for model, colors in (mix.get("colors") or {}).items():
        if model not in plant.models_by_id:
            yield tree.problem(("mix", "colors", model), f"model {model!r} is not in the plant")
            continue
        for color in colors or {}:
            if color not in plant.models_by_id[model].colors:
                yield tree.problem(
                    ("mix", "colors", model, color),
                    f"colour {color!r} is not offered for model {model!r}",
                )
