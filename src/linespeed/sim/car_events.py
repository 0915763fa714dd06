"""The events of a stretch of cars as finished JSON lines, made station by station for all
cars at once: each kind of event is one byte template filled for every car it concerns.

A car's events are numbered in the order a line sends them (started; per station its parts,
checks, defects opened, defects closed at the gate, completed or scrapped; completed;
shipped): the number makes the event's id (`<prefix>-c<car>-<number>`) and breaks ties
between a car's events at the same moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Final, Literal

import msgspec
import numpy as np
from numpy.typing import NDArray

from linespeed.plant.model import BomPart
from linespeed.plant.vin import check_digit, nth_vin
from linespeed.sim.plan import gate_after
from linespeed.sim.run import SimRun
from linespeed.sim.stamps import WIDTH as STAMP
from linespeed.sim.stamps import Stamps
from linespeed.sim.supply import lot_size, pieces_per_car
from linespeed.sim.templates import Column, Digits, Piece, Template, Text

Detail = Literal["full", "units"]
"""`full`: every event a line sends; `units`: only unit.started/scrapped/completed/shipped."""

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Flags = NDArray[np.bool_]
_json = msgspec.json.encode
_CHECK_CHARS: Final = b"0123456789X"
_CHECK_VALUES: Final = {chr(char): value for value, char in enumerate(_CHECK_CHARS)}
_SCRAPPED: Final = ',"reason":"damaged beyond repair"'


def json_text(value: object) -> str:
    """`value` as JSON text (a string with its quotes and escapes)."""
    return _json(value).decode()


class RunTexts:
    """What the events of a run reuse: JSON fragments of its line, stations, models and
    parts, its timestamps, and how many pieces of each part it has used by each car."""

    def __init__(self, run: SimRun) -> None:
        self.run = run
        plant = run.loaded.plant
        self.line = json_text(run.line.id)
        self.stations = [json_text(station.id) for station in run.line.stations]
        self.stamps = Stamps(
            np.datetime64(run.calendar.start_at.astimezone(UTC).replace(tzinfo=None), "ms")
        )
        self.models = plant.models
        self.model_ids = [json_text(model.id) for model in plant.models]
        self.colors = [[json_text(color) for color in model.colors] for model in plant.models]
        index = {station.id: i for i, station in enumerate(run.line.stations)}
        # per model: per station, the BOM lines installed there
        self.bom = [
            [[p for p in model.parts if index.get(p.station) == i] for i in range(len(index))]
            for model in plant.models
        ]
        scenario = run.loaded.scenario
        parts = {p.part for m in plant.models for p in m.parts}
        self.lot_size = {part: lot_size(scenario, part) for part in parts}
        # how many cars of each model have started up to each car: serial and lot numbers
        # follow from it, so any stretch of a run numbers its parts as the whole run does
        model = run.plan.model
        self.model_counts = [np.cumsum(model == number) for number in range(len(plant.models))]
        self.part_models: dict[str, list[tuple[int, int]]] = {}  # part -> (model, pieces per car)
        for part in parts:
            pieces = pieces_per_car(plant, run.line, part).tolist()
            self.part_models[part] = [(m, q) for m, q in enumerate(pieces) if q > 0]

    def part_counts(self, part: str, cars: Ints) -> Ints:
        """How many pieces of `part` the run has used up to and including each of `cars`."""
        count = np.zeros(len(cars), dtype=np.int64)
        for model, pieces in self.part_models[part]:
            count += pieces * self.model_counts[model][cars]
        return count


UNIT_STARTED: Final = 1
UNIT_COMPLETED: Final = 2
_UNIT_KINDS: Final = {"unit.started": UNIT_STARTED, "unit.completed": UNIT_COMPLETED}


@dataclass
class CarLines:
    """Event lines with what orders them: moment, car (-1: none) and number within the car;
    `unit` marks `unit.started` (UNIT_STARTED) and `unit.completed` (UNIT_COMPLETED) lines."""

    lines: list[bytes]
    time_s: Floats
    car: Ints
    number: Ints
    unit: NDArray[np.int8]

    @classmethod
    def of(cls, lines: list[bytes], time_s: Floats, car: int = -1) -> CarLines:
        """`lines` of no car (or all of `car`), numbered in the order given, none a unit's."""
        count = len(lines)
        return cls(
            lines,
            time_s,
            np.full(count, car, dtype=np.int64),
            np.arange(count, dtype=np.int64),
            np.zeros(count, dtype=np.int8),
        )

    @classmethod
    def joined(cls, *parts: CarLines) -> CarLines:
        """The lines of `parts`, one after the other."""
        return cls(
            [line for part in parts for line in part.lines],
            np.concatenate([part.time_s for part in parts]),
            np.concatenate([part.car for part in parts]),
            np.concatenate([part.number for part in parts]),
            np.concatenate([part.unit for part in parts]),
        )

    def taken(self, rows: Ints | slice) -> CarLines:
        """The lines at `rows`, in that order."""
        lines = (
            self.lines[rows] if isinstance(rows, slice) else [self.lines[i] for i in rows.tolist()]
        )
        return CarLines(
            lines, self.time_s[rows], self.car[rows], self.number[rows], self.unit[rows]
        )


@dataclass(frozen=True)
class _EventTemplate:
    """A line's template, and whether it is a unit's start or completion."""

    template: Template
    unit: int


def _vins(texts: RunTexts, cars: Ints) -> NDArray[np.uint8]:
    """The VIN of each car, one per row of 17 bytes: its model's first VIN with the car's
    number (positions 12-17) and the check digit (position 9) that number makes.

    The check digit is a weighted sum of the positions modulo 11: the weight of each
    serial position is read off the check digit of a VIN with a 1 there and zeros around.
    Raises as `nth_vin` does for a car number that makes no VIN.
    """
    plant = texts.run.loaded.plant
    models = texts.run.plan.model[cars]
    numbers = cars + 1
    vins = np.zeros((len(cars), 17), dtype=np.uint8)
    for model in np.unique(models).tolist():
        model_id = texts.models[model].id
        which = np.flatnonzero(models == model)
        nth_vin(plant, model_id, int(numbers[which].max()))  # raises if the highest has no VIN
        first = nth_vin(plant, model_id, 1)
        base = _CHECK_VALUES[check_digit(first[:11] + "000000")]
        weights = [
            _CHECK_VALUES[check_digit(first[:11] + "0" * place + "1" + "0" * (5 - place))] - base
            for place in range(6)
        ]
        total = np.full(len(which), base, dtype=np.int64)
        serial = numbers[which]
        for weight in reversed(weights):
            serial, digit = np.divmod(serial, 10)
            total += weight * digit
        check = np.frombuffer(_CHECK_CHARS, dtype=np.uint8)[total % 11].reshape(-1, 1)
        template = Template([first[:8].encode(), Text(1), first[9:11].encode(), Digits(6)])
        vins[which] = (
            np.array(template.fill([check, numbers[which]]), dtype="S17")
            .view(np.uint8)
            .reshape(-1, 17)
        )
    return vins


class _Builder:
    """The lines of a window of cars, added a template at a time."""

    def __init__(self, texts: RunTexts, cars: Ints, prefix: str) -> None:
        self.texts = texts
        self.cars = cars
        self.vins = _vins(texts, cars)
        self.made = np.zeros(len(cars), dtype=np.int64)
        self.head: list[Piece] = [
            b'","id":"' + prefix.encode() + b"-c",
            Digits(7),
            b"-",
            Digits(3),
            b'","ts":"',
            Text(STAMP),
            b'","line":' + texts.line.encode() + b',"vin":"',
            Text(17),
            b'"',
        ]
        self.lines: list[bytes] = []
        self.times: list[Floats] = []
        self.numbers: list[Ints] = []
        self.positions: list[Ints] = []
        self.units: list[NDArray[np.int8]] = []

    def template(self, kind: str, *rest: Piece) -> _EventTemplate:
        """A line of `kind`: id, ts, line and vin filled in by `add`, then `rest`."""
        return _EventTemplate(
            Template([b'{"kind":"' + kind.encode(), *self.head, *rest, b',"simulated":true}']),
            _UNIT_KINDS.get(kind, 0),
        )

    def add(
        self, template: _EventTemplate, where: Flags | Ints, time_s: Floats, *columns: Column
    ) -> None:
        """One event per car `where` selects, at `time_s` (per such car), `columns` filling
        the template's fields after the VIN."""
        positions: Ints = (
            np.flatnonzero(where) if where.dtype == np.bool_ else where.astype(np.int64)
        )
        if not len(positions):
            return
        self.made[positions] += 1
        numbers = self.made[positions]
        self.lines += template.template.fill(
            [
                self.cars[positions] + 1,
                numbers,
                self.texts.stamps.text(time_s),
                self.vins[positions],
                *columns,
            ]
        )
        self.times.append(time_s)
        self.numbers.append(numbers)
        self.positions.append(positions)
        self.units.append(np.full(len(positions), template.unit, dtype=np.int8))

    def done(self) -> CarLines:
        """Every line added, with its moment, car and number."""
        if not self.lines:
            return CarLines.of([], np.zeros(0))
        return CarLines(
            self.lines,
            np.concatenate(self.times),
            self.cars[np.concatenate(self.positions)],
            np.concatenate(self.numbers),
            np.concatenate(self.units),
        )


def car_lines(texts: RunTexts, cars: Ints, detail: Detail, prefix: str) -> CarLines:
    """Every event of `cars` (ascending car indices), as JSON lines, unordered."""
    run = texts.run
    plan = run.plan
    build = _Builder(texts, cars, prefix)
    start, complete = run.start_s[cars], run.complete_s[cars]
    model = plan.model[cars]
    scrap = plan.scrap_at[cars]
    color = plan.color[cars]
    for number in np.unique(model).tolist():
        for shade in np.unique(color[model == number]).tolist():
            which = np.flatnonzero((model == number) & (color == shade))
            started = f',"model":{texts.model_ids[number]},"color":{texts.colors[number][shade]}'
            build.add(build.template("unit.started", started.encode()), which, start[which, 0])
    if detail == "full":
        alive = _stations(build, start, complete, model, scrap)
    else:
        alive = scrap < 0
        for station in np.unique(scrap[~alive]).tolist():
            where = np.flatnonzero(scrap == station)
            scrapped = f',"station":{texts.stations[station]}{_SCRAPPED}'
            build.add(
                build.template("unit.scrapped", scrapped.encode()), where, complete[where, station]
            )
    done = complete[alive, -1]
    build.add(build.template("unit.completed"), alive, done)
    destination = json_text(run.loaded.scenario.shipping.destination)
    build.add(
        build.template("unit.shipped", f',"destination":{destination}'.encode()),
        alive,
        done + plan.ship_delay_s[cars][alive],
    )
    return build.done()


def _stations(build: _Builder, start: Floats, complete: Floats, model: Ints, scrap: Ints) -> Flags:
    """Every car's events station by station (parts, checks, defects, completed or
    scrapped); returns which cars are not scrapped."""
    texts, cars = build.texts, build.cars
    run = texts.run
    plan, line = run.plan, run.line
    gates = gate_after(plan.checks, [station.gate for station in line.stations])
    checks_at: dict[int, list[int]] = {}
    for k, check in enumerate(plan.checks):
        checks_at.setdefault(check.station, []).append(k)
    # the defects a gate closes, in the order they were opened along the line
    closed_at: dict[int, list[int]] = {}
    for k in sorted(range(len(plan.checks)), key=lambda k: (plan.checks[k].station, k)):
        closed_at.setdefault(gates[k], []).append(k)
    failed = plan.failed[cars]
    process = plan.process_s[cars]
    alive = np.ones(len(cars), dtype=np.bool_)
    checked_at: dict[int, Floats] = {}  # check -> moment of each car's check
    checked: dict[int, Flags] = {}  # check -> which cars were checked
    model_numbers = np.unique(model).tolist()
    results = np.frombuffer(b"passfail", dtype=np.uint8).reshape(2, 4)
    for station, spec in enumerate(line.stations):
        at = f',"station":{texts.stations[station]}'
        s, c = start[:, station], complete[:, station]
        here = scrap == station
        active = alive & (here | ~((process[:, station] == 0.0) & spec.optional))
        inspections = checks_at.get(station, [])
        slots = np.zeros(len(cars), dtype=np.int64)
        for number in model_numbers:
            slots[model == number] = len(texts.bom[number][station])
        tick = (c - s) / (slots + len(inspections) + 2)
        moment = s.copy()
        for number in model_numbers:
            group = np.flatnonzero(active & (model == number))
            if len(group):
                _parts(build, at, texts.bom[number][station], group, moment, tick)
        for k in inspections:
            check = plan.checks[k]
            moment[active] += tick[active]
            checks = f'{at},"check":{json_text(check.name)},"result":"'
            build.add(
                build.template("inspection.recorded", checks.encode(), Text(4), b'"'),
                active,
                moment[active],
                results[failed[active, k].astype(np.int64)],
            )
            opened = np.flatnonzero(active & failed[:, k])
            code = f'-{check.name}","code":"{check.name}-out-of-spec","severity":"minor"'
            build.add(
                build.template(
                    "defect.opened", f'{at},"defect":"'.encode(), Text(17), code.encode()
                ),
                opened,
                moment[opened],
                build.vins[opened],
            )
            checked_at[k], checked[k] = moment.copy(), active
        for k in closed_at.get(station, []):
            check = plan.checks[k]
            closing = np.flatnonzero(active & checked[k] & failed[:, k])
            # repaired in a bay beside the line; closed at the latest as the car leaves the gate
            build.add(
                build.template(
                    "defect.closed",
                    b',"defect":"',
                    Text(17),
                    f'-{check.name}","action":"repaired"{at}'.encode(),
                ),
                closing,
                np.minimum(checked_at[k][closing] + check.rework_s, c[closing]),
                build.vins[closing],
            )
        build.add(build.template("unit.scrapped", (at + _SCRAPPED).encode()), here, c[here])
        passed = np.flatnonzero(active & ~here)
        build.add(
            build.template(
                "station.completed",
                f'{at},"started_at":"'.encode(),
                Text(STAMP),
                b'","result":"ok"',
            ),
            passed,
            c[passed],
            texts.stamps.text(s[passed]),
        )
        alive &= ~here
    return alive


def _parts(
    build: _Builder,
    at: str,
    parts: Sequence[BomPart],
    group: Ints,
    moment: Floats,
    tick: Floats,
) -> None:
    """The `part.installed` events of the cars `group` (one model) at a station, in BOM
    order, each part a tick after the one before; `moment` moves on for each."""
    texts = build.texts
    for bom_part in parts:
        moment[group] += tick[group]
        if bom_part.backflush:
            continue  # consumed as the station completes, with no part.installed
        part, supplier = bom_part.part, bom_part.supplier
        supplied = f',"supplier":{json_text(supplier)}' if supplier else ""
        installed = f'{at},"part":{json_text(part)}'
        count = texts.part_counts(part, build.cars[group])
        when = moment[group]
        if bom_part.serialized:  # one event per piece, as its receipt listed
            pieces = bom_part.qty
            serial = build.template(
                "part.installed",
                f'{installed},"serial":"{part}-'.encode(),
                Digits(8),
                f'"{supplied}'.encode(),
            )
            for piece in range(pieces):
                build.add(serial, group, when, count - pieces + 1 + piece)
        else:
            lot = (count - 1) // texts.lot_size[part] + 1
            build.add(
                build.template(
                    "part.installed",
                    f'{installed},"lot":"{part}-L'.encode(),
                    Digits(5),
                    f'"{supplied}'.encode(),
                ),
                group,
                when,
                lot,
            )
