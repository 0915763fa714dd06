"""The plant model: master data from contract 1 of the design, as typed, immutable objects."""

from __future__ import annotations

from datetime import date
from functools import cached_property
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
"""An identifier of the plant file: lower-case letters, digits and hyphens."""

ClockTime = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
"""A wall-clock time of day, "HH:MM" (24 h)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


CheckDigit = Literal["required", "none"]
"""Whether VIN position 9 must be the check digit (North America, China) or not (Europe)."""


class VinSpec(_Frozen):
    """The plant's fixed VIN positions: world manufacturer id (1-3) and plant code (11).

    `check_digit: none` lets position 9 hold any VIN character; `model_year` (when set) limits
    position 10 to that year or the next one.
    """

    wmi: str = Field(min_length=3, max_length=3)
    plant_code: str = Field(min_length=1, max_length=1)
    model_year: int | None = Field(default=None, ge=1980, le=2039)
    check_digit: CheckDigit = "required"


class BomPart(_Frozen):
    """One line of a model's bill of materials: which part is installed at which station.

    `qty` is pieces per car (a serialized part is always 1: one serial per piece);
    `backflush: true` parts are consumed from stock when the station completes the car,
    without a `part.installed` event.
    """

    part: str = Field(min_length=1, max_length=64)
    station: Id
    serialized: bool = False
    supplier: Id | None = None
    qty: int = Field(default=1, ge=1, le=100_000, strict=True)
    backflush: bool = False


class Model(_Frozen):
    """A vehicle model built in the plant, with its VIN descriptor, colours and BOM."""

    id: Id
    vds: str
    colors: tuple[Id, ...] = Field(min_length=1)
    parts: tuple[BomPart, ...] = ()

    def bom_at(self, station: str) -> dict[str, BomPart]:
        """The parts of this model installed at `station`, by part number."""
        return self._bom_by_station.get(station, {})

    @cached_property
    def _bom_by_station(self) -> dict[str, dict[str, BomPart]]:
        by_station: dict[str, dict[str, BomPart]] = {}
        for bom_part in self.parts:
            by_station.setdefault(bom_part.station, {})[bom_part.part] = bom_part
        return by_station


class Station(_Frozen):
    """A station of a line; `gate` marks a quality gate, `optional` one a car may skip."""

    id: Id
    area: Id
    cycle_s: float = Field(gt=0)
    buffer: int = Field(default=0, ge=0)
    checks: tuple[Id, ...] = ()
    gate: bool = False
    optional: bool = False


Tracking = Literal["stations", "units"]
"""What a line reports: every station a car passes, or only cars starting and completing."""


class Line(_Frozen):
    """An assembly line: its takt, its stations in flow order, and what it reports.

    With `tracking: units` the line sends only unit-level events (or station events for
    some stations): a car may complete without having reported every mandatory station.
    """

    id: Id
    takt_s: float = Field(gt=0)
    stations: tuple[Station, ...] = Field(min_length=1)
    tracking: Tracking = "stations"

    @cached_property
    def station_index(self) -> dict[str, int]:
        """Position of each station in flow order, by station id."""
        return {station.id: index for index, station in enumerate(self.stations)}


class Break(_Frozen):
    """A break inside a shift."""

    start: ClockTime
    end: ClockTime


class Shift(_Frozen):
    """A shift of the working day, in the plant's local time."""

    name: str = Field(min_length=1, max_length=32)
    start: ClockTime
    end: ClockTime
    breaks: tuple[Break, ...] = ()


class Milestones(_Frozen):
    """Which completion counts are milestones and the colour milestone cars are built in."""

    every: int | None = Field(default=None, gt=0)
    also: tuple[Annotated[int, Field(gt=0)], ...] = ()
    color: Id | None = None


class Supply(_Frozen):
    """How the plant treats its parts supply; `strict` refuses installing a serialized
    piece that was never received (by default it is accepted and flagged in `stock`)."""

    strict: bool = False


class Plant(_Frozen):
    """One plant: its lines, models, shifts, milestones and supply policy (contract 1), with
    its start of production (`sop`) and the cars completed before the store began."""

    plant: Id
    name: str = Field(min_length=1)
    timezone: str
    vin: VinSpec
    models: tuple[Model, ...] = Field(min_length=1)
    lines: tuple[Line, ...] = Field(min_length=1)
    shifts: tuple[Shift, ...] = ()
    milestones: Milestones = Milestones()
    supply: Supply = Supply()
    sop: date | None = None
    """Start of production: day 0 of the plant's ramp (None: the day the first car started)."""
    cars_before: int = Field(default=0, ge=0, strict=True)
    """Cars completed before the store began; completion counts and milestones start after them."""

    @cached_property
    def models_by_id(self) -> dict[str, Model]:
        """Every model, by id."""
        return {model.id: model for model in self.models}

    @cached_property
    def part_suppliers(self) -> dict[str, str | None]:
        """Every part of any BOM, with its supplier (the first BOM line that names one)."""
        found: dict[str, str | None] = {}
        for model in self.models:
            for bom_part in model.parts:
                if found.get(bom_part.part) is None:
                    found[bom_part.part] = bom_part.supplier
        return found

    @cached_property
    def lines_by_id(self) -> dict[str, Line]:
        """Every line, by id."""
        return {line.id: line for line in self.lines}

    @cached_property
    def line_of_station(self) -> dict[str, Line]:
        """The line each station belongs to, by station id."""
        return {station.id: line for line in self.lines for station in line.stations}

    @cached_property
    def stations_by_id(self) -> dict[str, Station]:
        """Every station of every line, by id."""
        return {station.id: station for line in self.lines for station in line.stations}


def with_tracking(plant: Plant, tracking: Tracking) -> Plant:
    """The plant with every line set to report at `tracking` level."""
    lines = tuple(line.model_copy(update={"tracking": tracking}) for line in plant.lines)
    return Plant.model_validate(
        {**plant.model_dump(), "lines": [line.model_dump() for line in lines]}
    )
