"""The unit state machine's rules: what must hold for each event to be accepted.

What an accepted event then does to a car's state is in `linespeed.events.transitions`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Final, Literal

from linespeed.errors import VinError
from linespeed.events.reasons import EventRejectedError
from linespeed.events.types import (
    DefectClosed,
    DefectOpened,
    Event,
    InspectionRecorded,
    PartInstalled,
    PartReceived,
    PartRemoved,
    StationCompleted,
    StationEntered,
    StationState,
    StockCounted,
    UnitCompleted,
    UnitScrapped,
    UnitShipped,
    UnitStarted,
)
from linespeed.plant.vin import model_for_vin, validate_vin

if TYPE_CHECKING:
    from linespeed.plant.model import BomPart, Line, Plant, Station

UnitStatus = Literal["in_production", "completed", "scrapped", "shipped"]
SerialOwner = Callable[[str, str], "str | None"]
"""Looks up which car (VIN) holds a serial of a part now, if any."""
SerialReceived = Callable[[str, str], bool]
"""Looks up whether a serial of a part was received (`part.received`)."""
Usage = tuple[tuple[str, int], ...]
"""(part, pieces per car) of the BOM lines consumed together."""
MAX_QUANTITY: Final = 1_000_000_000
"""The most pieces one receipt or count may name: more is a typing error, not stock."""


@dataclass(slots=True)
class UnitState:
    """What the rules need to know about one car; the store keeps it in its projections."""

    vin: str
    model: str
    color: str
    line: str
    revision: int
    start_seq: int
    started_at: datetime
    status: UnitStatus = "in_production"
    last_index: int = -1
    done_mask: int = 0
    open_defects: dict[str, str] = field(default_factory=dict)
    defects: set[str] = field(default_factory=set)
    serials: dict[str, str] = field(default_factory=dict)
    """The serial the car holds of each serialized part, by part."""
    lots: dict[str, set[str]] = field(default_factory=dict)
    """The lots the car holds pieces of, by lot-tracked part."""
    completion_seq: int | None = None
    completed_at: datetime | None = None
    scrapped_at: datetime | None = None
    shipped_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StationFlow:
    """A station's place in one line's flow; `before_mask` has the mandatory stations before it."""

    station: Station
    index: int
    before_mask: int


class LineRules:
    """Precomputed flow facts of one line in one plant revision."""

    def __init__(self, line: Line) -> None:
        self.line = line
        self.index = line.station_index
        # a line tracked at unit level requires no station; stations it reports keep their order
        self.mandatory_mask = sum(
            1 << i
            for i, station in enumerate(line.stations)
            if not station.optional and line.tracking == "stations"
        )
        self.stations = {
            station.id: StationFlow(station, i, self.mandatory_mask & ((1 << i) - 1))
            for i, station in enumerate(line.stations)
        }
        """Each station of the line, by id."""
        self.installs_consume = line.tracking == "stations"
        """Whether installs and station completions consume stock (else completed cars do)."""

    def first_missing(self, done_mask: int, before_index: int | None = None) -> Station | None:
        """The first mandatory station not in `done_mask` (before `before_index` if given)."""
        wanted = self.mandatory_mask
        if before_index is not None:
            wanted &= (1 << before_index) - 1
        missing = wanted & ~done_mask
        return self.first_of(missing) if missing else None

    def first_of(self, mask: int) -> Station:
        """The first station in flow order whose bit is set in `mask` (not 0)."""
        return self.line.stations[(mask & -mask).bit_length() - 1]


class PlantRules:
    """One plant revision with the lookups the rules use on every event."""

    def __init__(self, revision: int, plant: Plant) -> None:
        self.revision = revision
        self.plant = plant
        self.strict_supply = plant.supply.strict
        """Whether installing a serialized piece never received is refused."""

    @cached_property
    def lines(self) -> dict[str, LineRules]:
        """Flow facts by line id."""
        return {line.id: LineRules(line) for line in self.plant.lines}

    @cached_property
    def bom(self) -> dict[tuple[str, str, str], BomPart]:
        """Every BOM line of every model, by (model, station, part)."""
        return {
            (model.id, bom_part.station, bom_part.part): bom_part
            for model in self.plant.models
            for bom_part in model.parts
        }

    @cached_property
    def part_serialized(self) -> dict[str, bool]:
        """Every part of every BOM, and whether it is serialized (in any model)."""
        serialized: dict[str, bool] = {}
        for model in self.plant.models:
            for bom_part in model.parts:
                serialized[bom_part.part] = serialized.get(bom_part.part, False) or (
                    bom_part.serialized
                )
        return serialized

    @cached_property
    def model_parts(self) -> dict[tuple[str, str], BomPart]:
        """Every BOM line of every model, by (model, part) (the first, if at several
        stations)."""
        found: dict[tuple[str, str], BomPart] = {}
        for model in self.plant.models:
            for bom_part in model.parts:
                found.setdefault((model.id, bom_part.part), bom_part)
        return found

    @cached_property
    def required_serials(self) -> dict[tuple[str, str], tuple[BomPart, ...]]:
        """The serialized BOM lines a car must hold to be complete, by (model, line): those
        of stations on the line, not backflushed; none on a line with `tracking: units`."""
        required: dict[tuple[str, str], tuple[BomPart, ...]] = {}
        for line in self.plant.lines:
            stations = {station.id for station in line.stations}
            for model in self.plant.models:
                required[(model.id, line.id)] = tuple(
                    bom_part
                    for bom_part in model.parts
                    if bom_part.serialized
                    and not bom_part.backflush
                    and bom_part.station in stations
                    and line.tracking == "stations"
                )
        return required

    @cached_property
    def install_pieces(self) -> dict[tuple[str, str, str], int]:
        """The pieces an install consumes, by (model, station, part): `qty` (serialized: 1),
        0 for a backflushed BOM line (its station's completion consumes it)."""
        return {
            key: 0 if bom_part.backflush else 1 if bom_part.serialized else bom_part.qty
            for key, bom_part in self.bom.items()
        }

    @cached_property
    def backflush_at(self) -> dict[tuple[str, str], Usage]:
        """The `backflush: true` BOM lines of each (model, station), as (part, qty)."""
        found: dict[tuple[str, str], list[tuple[str, int]]] = {}
        for model in self.plant.models:
            for bom_part in model.parts:
                if bom_part.backflush:
                    found.setdefault((model.id, bom_part.station), []).append(
                        (bom_part.part, bom_part.qty)
                    )
        return {key: tuple(usage) for key, usage in found.items()}

    @cached_property
    def unit_usage(self) -> dict[str, Usage]:
        """Every BOM line of each model as (part, qty): what a car of a line with
        `tracking: units` consumes when it completes (serialized parts: 1)."""
        return {
            model.id: tuple(
                (bom_part.part, 1 if bom_part.serialized else bom_part.qty)
                for bom_part in model.parts
            )
            for model in self.plant.models
        }

    def station(self, station_id: str, line_id: str) -> tuple[Station, int]:
        """The station and its flow index on `line_id`.

        Raises EventRejectedError station.unknown or station.wrong_line.
        """
        flow = self.flow(station_id, self.lines[line_id])
        return flow.station, flow.index

    def flow(self, station_id: str, line_rules: LineRules) -> StationFlow:
        """The station's place in the flow of the line of `line_rules`.

        Raises EventRejectedError station.unknown or station.wrong_line.
        """
        flow = line_rules.stations.get(station_id)
        if flow is not None:
            return flow
        if station_id not in self.plant.stations_by_id:
            raise EventRejectedError(
                "station.unknown",
                f"station {station_id!r} is not in plant revision {self.revision}",
                field="station",
            )
        owner = self.plant.line_of_station[station_id].id
        raise EventRejectedError(
            "station.wrong_line",
            f"station {station_id!r} is on line {owner!r}, not {line_rules.line.id!r}",
            field="station",
        )


_CLOSED_STATUS_REASON: Final[dict[str, str]] = {
    "completed": "unit.completed",
    "scrapped": "unit.scrapped",
    "shipped": "unit.shipped",
}


def check_event(
    event: Event,
    unit: UnitState | None,
    current: PlantRules,
    unit_rules: PlantRules | None,
    serial_owner: SerialOwner,
    serial_received: SerialReceived | None = None,
) -> None:
    """Check one event against the car's state and the plant revision it runs under.

    `current` is the plant revision new cars start under; `unit_rules` the revision of
    the car's own start (None when `unit` is None). `serial_received` tells whether a
    serialized piece was received (goods receipts and, under `supply: {strict: true}`,
    installs need it; None: nothing was). Raises EventRejectedError with the reason code
    of the first rule the event breaks.
    """
    if event.line is not None and event.line not in current.lines:
        raise EventRejectedError(
            "line.unknown", f"line {event.line!r} is not in the plant", field="line"
        )
    if type(event) is StationState:
        line_id = (
            event.line
            or current.plant.line_of_station.get(event.station, current.plant.lines[0]).id
        )
        current.station(event.station, line_id)
        return
    if type(event) is PartReceived:
        check_receipt(event, current, serial_received or _never_received)
        return
    if type(event) is StockCounted:
        _check_stocked_part(event.part, current)
        _check_quantity(event.quantity, 0, "a count")
        return
    if type(event) is UnitStarted:
        _check_start(event, unit, current)
        return
    if unit is None or unit_rules is None:
        _check_vin(event.vin, current.plant)
        raise EventRejectedError("unit.unknown", f"car {event.vin} was never started", field="vin")
    if event.line is not None and event.line != unit.line:
        raise EventRejectedError(
            "station.wrong_line",
            f"car {unit.vin} runs on line {unit.line!r}, not {event.line!r}",
            field="line",
        )
    correction = is_correction(event)
    if unit.status != "in_production" and not (
        (type(event) is UnitShipped and unit.status == "completed")
        or (correction and unit.status != "scrapped")
    ):
        raise EventRejectedError(
            _CLOSED_STATUS_REASON[unit.status],
            f"car {unit.vin} is already {unit.status.replace('_', ' ')}; {_kind(event)} refused",
        )
    line_rules = unit_rules.lines[unit.line]
    # The most frequent kinds first.
    if type(event) is StationCompleted or type(event) is StationEntered:
        _check_passage(event, unit, unit_rules, line_rules)
    elif type(event) is PartInstalled:
        _check_part(event, unit, unit_rules, line_rules, serial_owner, correction=correction)
        if unit_rules.strict_supply and event.serial is not None:
            _check_received(
                event.part, event.serial, unit_rules, serial_received or _never_received
            )
    elif type(event) is UnitShipped:
        if unit.status != "completed":
            raise EventRejectedError("unit.not_completed", f"car {unit.vin} is not completed yet")
    elif type(event) is UnitCompleted:
        _check_completion(unit, line_rules)
        if unit_rules.strict_supply:
            _check_required_parts(unit, unit_rules)
    elif type(event) is PartRemoved:
        _check_removal(event, unit, unit_rules)
    elif type(event) is DefectClosed:
        if event.station is not None:
            unit_rules.flow(event.station, line_rules)
        if event.defect not in unit.open_defects:
            raise EventRejectedError(
                "defect.not_open",
                f"defect {event.defect!r} is not open on car {unit.vin}",
                field="defect",
            )
    else:
        _check_at_station(event, unit, unit_rules, line_rules)


def is_correction(event: Event) -> bool:
    """Whether the event corrects a car's genealogy (`part.removed`, or `part.installed` with
    `correction: true`): only a source with the engineer role may send it."""
    return type(event) is PartRemoved or (type(event) is PartInstalled and event.correction)


def check_corrector(event: Event, corrector: object | None) -> None:
    """Refuse a correction (see `is_correction`) that comes without a `corrector`, someone
    with the engineer role.

    Raises EventRejectedError correction.not_allowed.
    """
    if corrector is None and is_correction(event):
        what = "part.removed" if type(event) is PartRemoved else "a correction install"
        raise EventRejectedError(
            "correction.not_allowed",
            f"{what} corrects a car's genealogy and needs the engineer role (an engineer or "
            "admin token, or the command line); this source has none",
        )


def missing_serials(unit: UnitState, rules: PlantRules) -> list[BomPart]:
    """The serialized BOM lines the car must hold to be complete and does not hold."""
    return [
        bom_part
        for bom_part in rules.required_serials[(unit.model, unit.line)]
        if bom_part.part not in unit.serials
    ]


def _check_required_parts(unit: UnitState, rules: PlantRules) -> None:
    missing = missing_serials(unit, rules)
    if missing:
        raise EventRejectedError(
            "unit.missing_part",
            f"car {unit.vin} cannot complete without "
            + ", ".join(f"{bom.part} (station {bom.station})" for bom in missing)
            + ": the plant's supply is strict",
        )


def _check_removal(event: PartRemoved, unit: UnitState, rules: PlantRules) -> None:
    """A piece can be removed only if the car holds it.

    Raises EventRejectedError part.not_in_bom or part.not_held.
    """
    bom_part = rules.model_parts.get((unit.model, event.part))
    if bom_part is None:
        raise EventRejectedError(
            "part.not_in_bom",
            f"part {event.part!r} is not in the BOM of model {unit.model!r}",
            field="part",
        )
    if bom_part.serialized:
        held_serial = unit.serials.get(event.part)
        if held_serial is None or event.serial not in (None, held_serial):
            held = "no piece" if held_serial is None else f"serial {held_serial!r}"
            raise EventRejectedError(
                "part.not_held",
                f"car {unit.vin} holds {held} of part {event.part!r}"
                + ("" if event.serial is None else f", not serial {event.serial!r}"),
                field="serial" if held_serial is not None else "part",
            )
        return
    lots = unit.lots.get(event.part)
    if not lots or event.lot not in (None, *lots):
        held = "no piece" if not lots else "lot(s) " + ", ".join(sorted(lots))
        raise EventRejectedError(
            "part.not_held",
            f"car {unit.vin} holds {held} of part {event.part!r}"
            + ("" if event.lot is None else f", not lot {event.lot!r}"),
            field="lot" if lots else "part",
        )


def _never_received(part: str, serial: str) -> bool:
    return False


def _check_received(part: str, serial: str, rules: PlantRules, received: SerialReceived) -> None:
    """Under a strict supply, a serialized piece must have been received to be installed.

    Raises EventRejectedError part.not_received.
    """
    if rules.part_serialized.get(part) and not received(part, serial):
        raise EventRejectedError(
            "part.not_received",
            f"serial {serial!r} of part {part!r} was never received, and the plant's supply "
            "is strict",
            field="serial",
        )


def check_receipt(event: PartReceived, current: PlantRules, received: SerialReceived) -> None:
    """Check a goods receipt against the plant's BOMs and the serials received before.

    Raises EventRejectedError part.unknown, stock.quantity, stock.serials_missing,
    stock.serials_not_allowed, stock.serials_count or stock.serial_received.
    """
    serialized = _check_stocked_part(event.part, current)
    _check_quantity(event.quantity, 1, "a receipt")
    serials = event.serials
    if serialized and serials is None:
        raise EventRejectedError(
            "stock.serials_missing",
            f"part {event.part!r} is serialized: list one serial per piece in serials",
            field="serials",
        )
    if serials is None:
        return
    if not serialized:
        raise EventRejectedError(
            "stock.serials_not_allowed",
            f"part {event.part!r} is tracked by lot, not by serial: leave serials out",
            field="serials",
        )
    if len(serials) != event.quantity:
        raise EventRejectedError(
            "stock.serials_count",
            f"{len(serials)} serial(s) listed for a quantity of {event.quantity}",
            field="serials",
        )
    seen: set[str] = set()
    for serial in serials:
        if serial in seen or received(event.part, serial):
            where = "twice in this receipt" if serial in seen else "before"
            raise EventRejectedError(
                "stock.serial_received",
                f"serial {serial!r} of part {event.part!r} was received {where}",
                field="serials",
            )
        seen.add(serial)


def _check_stocked_part(part: str, current: PlantRules) -> bool:
    """Whether `part` is serialized. Raises EventRejectedError part.unknown (in no BOM)."""
    serialized = current.part_serialized.get(part)
    if serialized is None:
        raise EventRejectedError(
            "part.unknown", f"part {part!r} is in no BOM of the plant", field="part"
        )
    return serialized


def _check_quantity(quantity: int, least: int, what: str) -> None:
    if not least <= quantity <= MAX_QUANTITY:
        raise EventRejectedError(
            "stock.quantity",
            f"quantity {quantity} is not allowed for {what}: {least} to {MAX_QUANTITY:,}",
            field="quantity",
        )


def check_channel(
    event: Event,
    unit: UnitState | None,
    current: PlantRules,
    unit_rules: PlantRules | None,
    *,
    line: str | None,
    stations: frozenset[str] | None,
) -> None:
    """Check an event against what its channel allows: the line an MQTT topic names, and
    the stations a station-limited token may act at, on cars that have not passed them.

    `unit_rules` is the plant revision of the car's start (None when `unit` is None).
    Raises EventRejectedError line.unknown, station.wrong_line or station.not_allowed.
    """
    if line is not None:
        _check_topic_line(event, unit, current, line)
    if stations is not None:
        _check_token_station(event, unit, unit_rules, stations)


def _check_topic_line(event: Event, unit: UnitState | None, current: PlantRules, line: str) -> None:
    if line not in current.lines:
        raise EventRejectedError(
            "line.unknown", f"topic line {line!r} is not in the plant", field="line"
        )
    if type(event) is StationState:
        current.station(event.station, line)
        return
    if type(event) is PartReceived or type(event) is StockCounted:
        if event.line is not None and event.line != line:
            raise EventRejectedError(
                "station.wrong_line",
                f"the event names line {event.line!r}, not topic line {line!r}",
                field="line",
            )
        return
    if unit is not None:
        car_line: str | None = unit.line
    elif type(event) is UnitStarted:  # the line it will start on
        car_line = event.line or current.plant.lines[0].id
    else:
        car_line = None  # a car never started: the rules refuse it
    if car_line is not None and car_line != line:
        raise EventRejectedError(
            "station.wrong_line",
            f"car {event.vin} runs on line {car_line!r}, not on topic line {line!r}",
            field="line",
        )


def _check_token_station(
    event: Event,
    unit: UnitState | None,
    unit_rules: PlantRules | None,
    stations: frozenset[str],
) -> None:
    station: str | None = getattr(event, "station", None)
    if station is None or station not in stations:
        what = "an event without a station" if station is None else f"station {station!r}"
        raise EventRejectedError(
            "station.not_allowed",
            f"the token may act at {', '.join(sorted(stations))} only, not {what}",
            field="station",
        )
    if unit is None or unit_rules is None:
        return
    line_rules = unit_rules.lines[unit.line]
    flow = line_rules.stations.get(station)
    if flow is not None and flow.index <= unit.last_index:
        passed = line_rules.line.stations[unit.last_index].id
        raise EventRejectedError(
            "station.not_allowed",
            f"car {unit.vin} has already passed station {station!r} (last completed {passed!r})",
            field="station",
        )


def _check_vin(vin: str, plant: Plant) -> None:
    try:
        validate_vin(vin, plant.vin.check_digit)
    except VinError as error:
        raise EventRejectedError(error.code, error.message, field="vin") from None


def _check_start(event: UnitStarted, unit: UnitState | None, current: PlantRules) -> None:
    _check_vin(event.vin, current.plant)
    plant = current.plant
    model = plant.models_by_id.get(event.model)
    if model is None:
        raise EventRejectedError(
            "model.unknown", f"model {event.model!r} is not in the plant", field="model"
        )
    if event.color not in model.colors:
        raise EventRejectedError(
            "color.unknown",
            f"colour {event.color!r} is not offered for model {model.id!r}",
            field="color",
        )
    if event.line is None and len(plant.lines) > 1:
        raise EventRejectedError(
            "field.missing", "line is required: the plant has several lines", field="line"
        )
    try:
        vin_model = model_for_vin(plant, event.vin)
    except VinError as error:
        raise EventRejectedError(error.code, error.message, field="vin") from None
    if vin_model.id != model.id:
        raise EventRejectedError(
            "vin.model_mismatch",
            f"VIN {event.vin} carries descriptor {vin_model.vds!r} of model {vin_model.id!r}, "
            f"not {model.id!r}",
            field="vin",
        )
    if unit is not None:
        raise EventRejectedError(
            "unit.duplicate",
            f"car {event.vin} was already started (start #{unit.start_seq})",
            field="vin",
        )


def _check_completion(unit: UnitState, line_rules: LineRules) -> None:
    missing = line_rules.first_missing(unit.done_mask)
    if missing is not None:
        raise EventRejectedError(
            "unit.missed_station",
            f"car {unit.vin} never completed mandatory station {missing.id!r}",
        )
    if unit.open_defects:
        raise EventRejectedError(
            "unit.open_defect",
            f"car {unit.vin} has open defect(s) {', '.join(sorted(unit.open_defects))}",
        )


def _check_passage(
    event: StationCompleted | StationEntered,
    unit: UnitState,
    unit_rules: PlantRules,
    line_rules: LineRules,
) -> None:
    flow = unit_rules.flow(event.station, line_rules)
    if flow.index <= unit.last_index:
        passed = line_rules.line.stations[unit.last_index].id
        raise EventRejectedError(
            "station.out_of_order",
            f"car {unit.vin} already completed {passed!r}, at or after {flow.station.id!r} in flow",
            field="station",
        )
    missing = flow.before_mask & ~unit.done_mask
    if missing:
        raise _missed(unit, line_rules.first_of(missing), flow)
    if unit.open_defects and flow.station.gate and type(event) is StationCompleted:
        raise EventRejectedError(
            "gate.open_defect",
            f"car {unit.vin} cannot pass gate {flow.station.id!r} with open defect(s) "
            f"{', '.join(sorted(unit.open_defects))}",
            field="station",
        )


def _check_at_station(
    event: InspectionRecorded | DefectOpened | UnitScrapped,
    unit: UnitState,
    unit_rules: PlantRules,
    line_rules: LineRules,
) -> None:
    flow = unit_rules.flow(event.station, line_rules)
    missing = flow.before_mask & ~unit.done_mask
    if missing:
        raise _missed(unit, line_rules.first_of(missing), flow)
    if type(event) is InspectionRecorded and event.check not in flow.station.checks:
        raise EventRejectedError(
            "check.unknown",
            f"station {flow.station.id!r} has no check {event.check!r}",
            field="check",
        )
    if type(event) is DefectOpened and event.defect in unit.defects:
        raise EventRejectedError(
            "defect.duplicate",
            f"defect {event.defect!r} is already recorded on car {unit.vin}",
            field="defect",
        )


def _missed(unit: UnitState, missing: Station, flow: StationFlow) -> EventRejectedError:
    return EventRejectedError(
        "station.missed",
        f"car {unit.vin} has not reached {flow.station.id!r}: mandatory station "
        f"{missing.id!r} was never completed",
        field="station",
    )


def _check_part(
    event: PartInstalled,
    unit: UnitState,
    unit_rules: PlantRules,
    line_rules: LineRules,
    serial_owner: SerialOwner,
    *,
    correction: bool = False,
) -> None:
    """A correction is not held to the flow: the car may have left the station."""
    flow = unit_rules.flow(event.station, line_rules)
    bom_part = unit_rules.bom.get((unit.model, event.station, event.part))
    if bom_part is None:
        raise EventRejectedError(
            "part.not_in_bom",
            f"part {event.part!r} is not in the BOM of model {unit.model!r} "
            f"at station {event.station!r}",
            field="part",
        )
    missing = flow.before_mask & ~unit.done_mask
    if missing and not correction:
        raise _missed(unit, line_rules.first_of(missing), flow)
    if flow.index <= unit.last_index and not correction:
        raise EventRejectedError(
            "part.station_passed",
            f"car {unit.vin} has already left station {event.station!r}",
            field="station",
        )
    if bom_part.serialized:
        if event.serial is None:
            raise EventRejectedError(
                "part.serial_missing",
                f"part {event.part!r} is serialized: serial is required",
                field="serial",
            )
        owner = serial_owner(event.part, event.serial)
        if owner is not None and owner != unit.vin:
            raise EventRejectedError(
                "part.serial_in_use",
                f"serial {event.serial!r} of part {event.part!r} is already in car {owner}",
                field="serial",
            )
    elif event.lot is None:
        raise EventRejectedError(
            "part.lot_missing", f"part {event.part!r} is lot-tracked: lot is required", field="lot"
        )


def _kind(event: Event) -> str:
    return str(type(event).__struct_config__.tag)


def rules_by_revision(plants: Mapping[int, Plant]) -> dict[int, PlantRules]:
    """Rules for each plant revision, by revision number."""
    return {revision: PlantRules(revision, plant) for revision, plant in plants.items()}


def id_scope(event: Event, unit: UnitState | None, current: PlantRules) -> str | None:
    """The scope of an event's idempotency key (scope, id): `station:<id>` for an event that
    names a station, `line:<id>` for the others (a receipt or count that names no line: the
    plant's first line); None when the line cannot be known (an event of a car never
    started, which the rules refuse)."""
    station: str | None = getattr(event, "station", None)
    if station is not None:
        return "station:" + station
    if event.line is not None:
        return "line:" + event.line
    if unit is not None:
        return "line:" + unit.line
    if type(event) is UnitStarted or type(event) is PartReceived or type(event) is StockCounted:
        return "line:" + current.plant.lines[0].id
    return None
