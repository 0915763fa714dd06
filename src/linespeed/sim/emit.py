"""The event stream of a simulated run: contract-2 JSON lines in time order, as a line sends them.

Every event carries `"simulated": true`, whatever it is written to (a file, a store, a broker):
a store created without `linespeed init --simulation` refuses it with `event.simulated`.

Events are built car by car in windows of cars, sorted by (time, car, step) and written out
once no later car can have an earlier event. Timestamps are UTC with millisecond precision.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Final, Literal

import msgspec
import numpy as np
from numpy.typing import NDArray

from linespeed.plant.vin import nth_vin
from linespeed.sim.plan import gate_after
from linespeed.sim.run import SimRun
from linespeed.sim.supply import lot_size, pieces_per_car

_WINDOW_CARS: Final = 4_000
_json = msgspec.json.encode

# kinds, in the order they are listed in a car's timeline
(
    STARTED,
    PART,
    INSPECTION,
    OPENED,
    CLOSED,
    COMPLETED_STATION,
    SCRAPPED,
    COMPLETED,
    SHIPPED,
    STATE,
) = range(10)


@dataclass
class _Window:
    time_s: list[float]
    car: list[int]
    step: list[int]
    body: list[str]


Detail = Literal["full", "units"]
"""`full`: every event a line sends; `units`: only unit.started/scrapped/completed/shipped."""


def event_lines(
    run: SimRun,
    *,
    detail: Detail = "full",
    after_s: float | None = None,
    id_prefix: str | None = None,
    receipts: bool = True,
) -> Iterator[bytes]:
    """The run's events up to its cut-off (after `after_s` if given), as time-ordered JSON lines.

    With `receipts` (the default), the goods receipts (`part.received`, one per lot) come
    too, whatever the detail: the warehouse books them, not the line.
    """
    prefix = id_prefix or f"sim-{run.seed}" + ("" if detail == "full" else f"-{detail}")
    texts = _Texts(run)
    states = _state_events(run, texts) if detail == "full" else _Window([], [], [], [])
    if receipts:
        states = _sorted(_concat(states, _receipt_events(run, texts)))
    first_start = run.start_s[:, 0]
    started = int(np.searchsorted(first_start, run.until_s, side="right"))
    wanted = np.arange(started)
    if after_s is not None:
        wanted = wanted[_last_event_s(run)[:started] > after_s]
        _take(states, np.nextafter(after_s, np.inf))  # drop what came before
    pending = _Window([], [], [], [])
    for begin in range(0, max(len(wanted), 1), _WINDOW_CARS):
        cars = wanted[begin : begin + _WINDOW_CARS]
        more = begin + _WINDOW_CARS < len(wanted)
        window = _cars_events(run, texts, cars, detail)
        horizon = float(first_start[wanted[begin + _WINDOW_CARS]]) if more else run.until_s
        window = _concat(pending, window, _take(states, horizon))
        order = np.lexsort(
            (np.asarray(window.step), np.asarray(window.car), np.asarray(window.time_s))
        )
        times = np.asarray(window.time_s)[order]
        ready = int(np.searchsorted(times, horizon, side="left" if more else "right"))
        skip = 0 if after_s is None else int(np.searchsorted(times[:ready], after_s, side="right"))
        stamps = texts.stamps(times[skip:ready])
        for position in range(skip, ready):
            yield _line(prefix, stamps[position - skip], window.body[int(order[position])])
        rest = order[ready:]
        pending = _Window(
            [window.time_s[i] for i in rest],
            [window.car[i] for i in rest],
            [window.step[i] for i in rest],
            [window.body[i] for i in rest],
        )


def _last_event_s(run: SimRun) -> NDArray[np.float64]:
    """When each car's last event happens: shipping, or scrapping."""
    plan = run.plan
    shipped = run.complete_s[:, -1] + plan.ship_delay_s
    rows = np.arange(len(plan.scrap_at))
    scrapped = run.complete_s[rows, np.maximum(plan.scrap_at, 0)]
    return np.asarray(np.where(plan.scrap_at >= 0, scrapped, shipped), dtype=np.float64)


def _line(prefix: str, stamp: str, body: str) -> bytes:
    """One event's JSON, marked `"simulated":true` (only a simulation store accepts it)."""
    kind, ident, rest = body.split("|", 2)
    return (
        f'{{"kind":"{kind}","id":"{prefix}-{ident}","ts":"{stamp}"{rest},"simulated":true}}'
    ).encode()


def _concat(*windows: _Window) -> _Window:
    merged = _Window([], [], [], [])
    for window in windows:
        merged.time_s += window.time_s
        merged.car += window.car
        merged.step += window.step
        merged.body += window.body
    return merged


def _take(states: _Window, horizon: float) -> _Window:
    """The station-state events before `horizon`, removed from `states`."""
    count = int(np.searchsorted(np.asarray(states.time_s), horizon, side="left"))
    taken = _Window(
        states.time_s[:count], states.car[:count], states.step[:count], states.body[:count]
    )
    del states.time_s[:count], states.car[:count], states.step[:count], states.body[:count]
    return taken


class _Texts:
    """JSON fragments reused across events: VINs, stations, parts, timestamps."""

    def __init__(self, run: SimRun) -> None:
        self.run = run
        plant = run.loaded.plant
        self.line = _json(run.line.id).decode()
        self.stations = [_json(station.id).decode() for station in run.line.stations]
        self.origin = np.datetime64(
            run.calendar.start_at.astimezone(UTC).replace(tzinfo=None), "ms"
        )
        self.models = plant.models
        self.model_ids = [_json(model.id).decode() for model in plant.models]
        self.colors = [[_json(color).decode() for color in model.colors] for model in plant.models]
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

    def part_count(self, part: str, car: int) -> int:
        """How many pieces of `part` the run has used up to and including car `car`."""
        return sum(q * int(self.model_counts[m][car]) for m, q in self.part_models[part])

    def stamps(self, seconds: NDArray[np.float64]) -> list[str]:
        """ISO-8601 UTC timestamps (ms) for seconds from time 0."""
        moments = self.origin + np.round(seconds * 1000.0).astype("timedelta64[ms]")
        return [text + "Z" for text in np.datetime_as_string(moments, unit="ms").tolist()]


def _cars_events(run: SimRun, texts: _Texts, cars: NDArray[np.int64], detail: Detail) -> _Window:
    plan, line = run.plan, run.line
    window = _Window([], [], [], [])
    add_time, add_car, add_step, add_body = (
        window.time_s.append,
        window.car.append,
        window.step.append,
        window.body.append,
    )
    gates = gate_after(plan.checks, [station.gate for station in line.stations])
    checks_at: dict[int, list[int]] = {}
    for k, check in enumerate(plan.checks):
        checks_at.setdefault(check.station, []).append(k)
    last = len(line.stations) - 1
    stations = last + 1
    started_stamps = texts.stamps(run.start_s[cars].ravel()) if detail == "full" else []
    for position, car_index in enumerate(cars.tolist()):
        car = int(car_index)
        row = position * stations
        model_index = int(plan.model[car])
        model = texts.models[model_index]
        vin = nth_vin(run.loaded.plant, model.id, car + 1)
        head = f',"line":{texts.line},"vin":"{vin}"'
        start, complete = run.start_s[car], run.complete_s[car]

        made = [0]

        def emit(time_s: float, body: str, car: int = car, made: list[int] = made) -> None:
            kind, rest = body.split("|", 1)
            made[0] += 1  # the car's own event number makes the id, the same in any run
            add_step(len(window.time_s))  # position in the window: increasing within a car
            add_time(time_s)
            add_car(car)
            add_body(f"{kind}|c{car + 1:07d}-{made[0]:03d}|{rest}")

        color = texts.colors[model_index][int(plan.color[car])]
        emit(
            float(start[0]),
            f'unit.started|{head},"model":{texts.model_ids[model_index]},"color":{color}',
        )
        scrap = int(plan.scrap_at[car])
        closing: dict[int, list[tuple[str, float]]] = {}
        for station in range(last + 1):
            s, c = float(start[station]), float(complete[station])
            passed_by = plan.process_s[car, station] == 0.0 and line.stations[station].optional
            if station != scrap and (detail == "units" or passed_by):
                continue
            at = f',"station":{texts.stations[station]}'
            if detail == "units":
                emit(c, f'unit.scrapped|{head}{at},"reason":"damaged beyond repair"')
                break
            parts = texts.bom[model_index][station]
            inspections = checks_at.get(station, [])
            slots = len(parts) + len(inspections) + 1
            tick = (c - s) / (slots + 1)
            moment = s
            for bom_part in parts:
                moment += tick
                if getattr(bom_part, "backflush", False):
                    continue  # consumed as the station completes, with no part.installed
                count = texts.part_count(bom_part.part, car)
                if bom_part.serialized:  # one event per piece, the serials its receipt listed
                    pieces = int(getattr(bom_part, "qty", 1))
                    traces = [
                        f',"serial":"{bom_part.part}-{number:08d}"'
                        for number in range(count - pieces + 1, count + 1)
                    ]
                else:
                    lot = (count - 1) // texts.lot_size[bom_part.part] + 1
                    traces = [f',"lot":"{bom_part.part}-L{lot:05d}"']
                supplier = (
                    f',"supplier":{_json(bom_part.supplier).decode()}' if bom_part.supplier else ""
                )
                for trace in traces:
                    emit(
                        moment,
                        f'part.installed|{head}{at},"part":{_json(bom_part.part).decode()}{trace}{supplier}',
                    )
            for k in inspections:
                moment += tick
                check = plan.checks[k]
                failed = bool(plan.failed[car, k])
                name = _json(check.name).decode()
                result = "fail" if failed else "pass"
                emit(moment, f'inspection.recorded|{head}{at},"check":{name},"result":"{result}"')
                if failed:
                    defect = f'"{vin}-{check.name}"'
                    code = f'"{check.name}-out-of-spec"'
                    emit(
                        moment,
                        f'defect.opened|{head}{at},"defect":{defect},"code":{code},"severity":"minor"',
                    )
                    closing.setdefault(gates[k], []).append((defect, moment + check.rework_s))
            for defect, repaired in closing.pop(station, []):
                # repaired in a bay beside the line; closed at the latest as the car leaves the gate
                emit(
                    min(repaired, c),
                    f'defect.closed|{head},"defect":{defect},"action":"repaired"{at}',
                )
            if station == scrap:
                emit(c, f'unit.scrapped|{head}{at},"reason":"damaged beyond repair"')
                break
            began = started_stamps[row + station]
            emit(c, f'station.completed|{head}{at},"started_at":"{began}","result":"ok"')
        else:
            done = float(complete[last])
            emit(done, f"unit.completed|{head}")
            ship = done + float(plan.ship_delay_s[car])
            destination = _json(run.loaded.scenario.shipping.destination).decode()
            emit(ship, f'unit.shipped|{head},"destination":{destination}')
    return window


def _state_events(run: SimRun, texts: _Texts) -> _Window:
    """Station states: planned stops and failures, with `running` when they end, and
    `starved` with reason `shortage:PART` while a station waits for parts for a car."""
    window = _Window([], [], [], [])
    planned = run.downtime.planned
    for station, intervals in enumerate(run.downtime.down_intervals()):
        at = f',"station":{texts.stations[station]}'
        resumes = _shortage_states(run, texts, station, intervals, window)
        inside = np.searchsorted(planned[:, 0], intervals[:, 0], side="right") - 1
        is_planned = (inside >= 0) & (planned[np.maximum(inside, 0), 1] > intervals[:, 0])
        for number, ((begin, end), planned_stop) in enumerate(
            zip(intervals.tolist(), is_planned.tolist(), strict=True)
        ):
            ident = f"s{station + 1:02d}-{number + 1:06d}"
            if begin >= run.until_s:
                break
            if begin > 0:
                state = (
                    '"planned-stop","reason":"shift plan"'
                    if planned_stop
                    else '"down","reason":"failure"'
                )
                window.time_s.append(begin)
                window.car.append(-1)
                window.step.append(station)
                window.body.append(
                    f'station.state|{ident}a|,"line":{texts.line}{at},"state":{state}'
                )
            if end <= run.until_s:
                state = resumes.get(number, '"running"')  # still waiting for parts, or running
                window.time_s.append(end)
                window.car.append(-1)
                window.step.append(station)
                window.body.append(
                    f'station.state|{ident}b|,"line":{texts.line}{at},"state":{state}'
                )
    return _sorted(window)


def _sorted(window: _Window) -> _Window:
    """The events of `window` in (time, step) order."""
    order = np.lexsort((np.asarray(window.step), np.asarray(window.time_s)))
    return _Window(
        [window.time_s[i] for i in order],
        [window.car[i] for i in order],
        [window.step[i] for i in order],
        [window.body[i] for i in order],
    )


def _shortage_states(
    run: SimRun, texts: _Texts, station: int, down: NDArray[np.float64], window: _Window
) -> dict[int, str]:
    """Add `starved` (shortage:PART) and `running` events of `station` to `window`.

    A stop (planned or a failure) inside a wait for parts takes precedence; when it ends
    while parts are still missing, the station is starved again rather than running: the
    returned map gives, by down interval number, the state to report at its end.
    """
    held = run.shortages.get(station)
    resumes: dict[int, str] = {}
    if held is None:
        return resumes
    head = f',"line":{texts.line},"station":{texts.stations[station]}'
    parts = run.supply.parts
    number = 0

    def add(time_s: float, state: str, suffix: str) -> None:
        window.time_s.append(time_s)
        window.car.append(-1)
        window.step.append(station)
        window.body.append(f"station.state|s{station + 1:02d}-p{number:06d}{suffix}|{head}{state}")

    ends = down[:, 1]
    for begin, end, part in zip(
        held.begin_s.tolist(), held.end_s.tolist(), held.part.tolist(), strict=True
    ):
        if begin >= run.until_s:
            break
        starved = f',"state":"starved","reason":{_json("shortage:" + parts[part].part).decode()}'
        k = int(np.searchsorted(ends, begin, side="right"))  # first stop ending after `begin`
        cursor, after_stop = begin, False
        while cursor < end:
            if k < len(down) and down[k, 0] <= cursor:  # stopped: the stop's end decides
                cursor = float(down[k, 1])
                if cursor < end:
                    resumes[k] = starved[len(',"state":') :]
                after_stop = True
                k += 1
                continue
            if not after_stop and cursor < run.until_s:
                number += 1
                add(cursor, starved, "a")
            following = float(down[k, 0]) if k < len(down) else math.inf
            if end < following and end <= run.until_s:
                if after_stop:
                    number += 1
                add(end, ',"state":"running"', "b")
            cursor, after_stop = min(end, following), False
    return resumes


def _receipt_events(run: SimRun, texts: _Texts) -> _Window:
    """Goods receipts up to the cut-off: one `part.received` per lot (serials if serialized)."""
    window = _Window([], [], [], [])
    for index, lots in enumerate(run.supply.parts):
        part = _json(lots.part).decode()
        supplier = _json(lots.supplier).decode()
        size = lots.lot_size
        count = int(np.searchsorted(lots.arrival_s, run.until_s, side="right"))
        for lot, arrival in enumerate(lots.arrival_s[:count].tolist(), start=1):
            if lots.serialized:
                first = (lot - 1) * size + 1
                serials = [f"{lots.part}-{n:08d}" for n in range(first, first + size)]
                trace = f',"serials":{_json(serials).decode()}'
            else:
                trace = f',"lot":"{lots.part}-L{lot:05d}"'
            window.time_s.append(arrival)
            window.car.append(-1)
            window.step.append(1_000 + index)
            window.body.append(
                f'part.received|r{index + 1:03d}-{lot:06d}|,"line":{texts.line},"part":{part},'
                f'"quantity":{size},"supplier":{supplier}{trace}'
            )
    return window


@dataclass
class StreamCounts:
    """What a stream held: events, cars started and completed, and the last timestamp."""

    events: int = 0
    started: int = 0
    completed: int = 0
    first_ts: str | None = None
    last_ts: str | None = None
    last_completed_vin: str | None = None


def counted(lines: Iterator[bytes], counts: StreamCounts) -> Iterator[bytes]:
    """Pass `lines` through, counting events, starts and completions into `counts`."""
    for line in lines:
        if not counts.events:
            counts.first_ts = _stamp_of(line)
        counts.events += 1
        if line.startswith(b'{"kind":"unit.'):
            if line.startswith(b'{"kind":"unit.started"'):
                counts.started += 1
            elif line.startswith(b'{"kind":"unit.completed"'):
                counts.completed += 1
                counts.last_completed_vin = line[line.index(b'"vin":"') + 7 :][:17].decode()
        yield line
    if counts.events:
        counts.last_ts = _stamp_of(line)


def _stamp_of(line: bytes) -> str:
    return line[line.index(b'"ts":"') + 6 :].split(b'"', 1)[0].decode()


def write_lines(
    lines: Iterator[bytes], path: Path, *, progress: Callable[[int], None] | None = None
) -> None:
    """Write event lines to a JSONL file (`-` for standard output), newline-terminated."""
    handle = sys.stdout.buffer if str(path) == "-" else path.open("wb")
    try:
        chunk: list[bytes] = []
        for line in lines:
            chunk.append(line)
            if len(chunk) >= 10_000:
                handle.write(b"\n".join(chunk) + b"\n")
                if progress is not None:
                    progress(len(chunk))
                chunk = []
        if chunk:
            handle.write(b"\n".join(chunk) + b"\n")
            if progress is not None:
                progress(len(chunk))
    finally:
        if handle is not sys.stdout.buffer:
            handle.close()
