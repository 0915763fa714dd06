"""The event stream of a simulated run: contract-2 JSON lines in time order, as a line sends them.

Every event carries `"simulated": true`, whatever it is written to (a file, a store, a broker):
a store created without `linespeed init --simulation` refuses it with `event.simulated`.

Events are made for a window of cars at once (`car_events`), sorted by (time, car, the car's
event number; stations' and the warehouse's events first) and handed on in blocks once no
later car can have an earlier event. Timestamps are UTC with millisecond precision.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from linespeed.sim.car_events import (
    UNIT_COMPLETED,
    UNIT_STARTED,
    CarLines,
    Detail,
    RunTexts,
    car_lines,
    json_text,
)
from linespeed.sim.run import SimRun
from linespeed.sim.templates import Digits, Template

__all__ = ["Detail", "EventStream", "StreamCounts", "counted", "event_lines", "write_lines"]

_WINDOW_CARS: Final = 2_000
_WRITE_LINES: Final = 20_000  # lines joined and written at a time


@dataclass
class _Window:
    time_s: list[float]
    car: list[int]
    step: list[int]
    body: list[str | tuple[int, int]]
    """The event's text (after its kind and id), or a receipt's (part, lot): `_receipt_body`."""


@dataclass
class _Block:
    """Lines of a stream, with how many are unit.started and unit.completed, and where
    the last unit.completed is (-1: none)."""

    lines: list[bytes]
    started: int
    completed: int
    last_completed: int

    @classmethod
    def of(cls, lines: list[bytes]) -> _Block:
        """`lines`, counted one by one."""
        started = completed = 0
        last_completed = -1
        for row, line in enumerate(lines):
            if line.startswith(b'{"kind":"unit.started"'):
                started += 1
            elif line.startswith(b'{"kind":"unit.completed"'):
                completed += 1
                last_completed = row
        return cls(lines, started, completed, last_completed)


class EventStream(Iterator[bytes]):
    """Event lines, one at a time or (`blocks`) many at a time."""

    def __init__(self, blocks: Iterator[_Block]) -> None:
        self._blocks = blocks
        self._lines: Iterator[bytes] = iter(())

    def __next__(self) -> bytes:
        """The next line. Raises StopIteration at the end of the stream."""
        while True:
            for line in self._lines:
                return line
            self._lines = iter(next(self._blocks).lines)

    def blocks(self) -> Iterator[_Block]:
        """The lines not taken yet, in blocks (none empty)."""
        rest = list(self._lines)
        if rest:
            yield _Block.of(rest)
        for block in self._blocks:
            if block.lines:
                yield block


def event_lines(
    run: SimRun,
    *,
    detail: Detail = "full",
    after_s: float | None = None,
    id_prefix: str | None = None,
    receipts: bool = True,
) -> EventStream:
    """The run's events up to its cut-off (after `after_s` if given), as time-ordered JSON lines.

    With `receipts` (the default), the goods receipts (`part.received`, one per lot) come
    too, whatever the detail: the warehouse books them, not the line.
    """
    prefix = id_prefix or f"sim-{run.seed}" + ("" if detail == "full" else f"-{detail}")
    return EventStream(_ordered_blocks(run, detail, after_s, prefix, receipts))


def _ordered_blocks(
    run: SimRun, detail: Detail, after_s: float | None, prefix: str, receipts: bool
) -> Iterator[_Block]:
    """The lines of `event_lines`, a window of cars at a time: sorted by (time, car, the
    car's event number), stations' and the warehouse's events first at the same moment."""
    texts = RunTexts(run)
    states = _state_events(run, texts) if detail == "full" else _Window([], [], [], [])
    if receipts:
        states = _sorted(_concat(states, _receipt_events(run)))
    station_lines = _StationEvents(states, texts, prefix)
    first_start = run.start_s[:, 0]
    started = int(np.searchsorted(first_start, run.until_s, side="right"))
    wanted = np.arange(started)
    taken = 0  # station events merged so far
    if after_s is not None:
        wanted = wanted[_last_event_s(run)[:started] > after_s]
        # drop what came before
        taken = int(np.searchsorted(station_lines.time_s, np.nextafter(after_s, np.inf)))
    pending = CarLines.of([], np.zeros(0))
    for begin in range(0, max(len(wanted), 1), _WINDOW_CARS):
        more = begin + _WINDOW_CARS < len(wanted)
        horizon = float(first_start[wanted[begin + _WINDOW_CARS]]) if more else run.until_s
        window = car_lines(texts, wanted[begin : begin + _WINDOW_CARS], detail, prefix)
        upto = max(taken, int(np.searchsorted(station_lines.time_s, horizon, side="left")))
        merged = CarLines.joined(pending, window, station_lines.lines(taken, upto))
        taken = upto
        del window
        order = np.lexsort((merged.number, merged.car, merged.time_s))
        times = merged.time_s[order]
        ready = int(np.searchsorted(times, horizon, side="left" if more else "right"))
        skip = 0 if after_s is None else int(np.searchsorted(times[:ready], after_s, side="right"))
        out = order[skip:ready]
        unit = merged.unit[out]
        completed = np.flatnonzero(unit == UNIT_COMPLETED)
        yield _Block(
            [merged.lines[i] for i in out.tolist()],
            int(np.count_nonzero(unit == UNIT_STARTED)),
            len(completed),
            int(completed[-1]) if len(completed) else -1,
        )
        pending = merged.taken(order[ready:])


class _StationEvents:
    """The stations' and the warehouse's events (sorted), made into lines when taken."""

    def __init__(self, states: _Window, texts: RunTexts, prefix: str) -> None:
        self.time_s = np.asarray(states.time_s, dtype=np.float64)
        self.body = states.body
        self.texts = texts
        self.prefix = prefix

    def lines(self, begin: int, end: int) -> CarLines:
        """Events `begin` to `end` as lines of no car, numbered by their place."""
        time_s = self.time_s[begin:end]
        run, texts = self.texts.run, self.texts
        lines = [
            _line(
                self.prefix,
                stamp,
                body if isinstance(body, str) else _receipt_body(run, texts, *body),
            )
            for stamp, body in zip(texts.stamps.of(time_s), self.body[begin:end], strict=True)
        ]
        found = CarLines.of(lines, time_s)
        found.number += begin
        return found


def _last_event_s(run: SimRun) -> NDArray[np.float64]:
    """When each car's last event happens: shipping, or scrapping."""
    plan = run.plan
    shipped = run.complete_s[:, -1] + plan.ship_delay_s
    rows = np.arange(len(plan.scrap_at))
    scrapped = run.complete_s[rows, np.maximum(plan.scrap_at, 0)]
    return np.asarray(np.where(plan.scrap_at >= 0, scrapped, shipped), dtype=np.float64)


def _line(prefix: str, stamp: bytes, body: str) -> bytes:
    """One event's JSON, marked `"simulated":true` (only a simulation store accepts it)."""
    kind, ident, rest = body.split("|", 2)
    return (
        f'{{"kind":"{kind}","id":"{prefix}-{ident}","ts":"{stamp.decode()}"{rest},'
        '"simulated":true}'
    ).encode()


def _concat(*windows: _Window) -> _Window:
    merged = _Window([], [], [], [])
    for window in windows:
        merged.time_s += window.time_s
        merged.car += window.car
        merged.step += window.step
        merged.body += window.body
    return merged


def _state_events(run: SimRun, texts: RunTexts) -> _Window:
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
    run: SimRun, texts: RunTexts, station: int, down: NDArray[np.float64], window: _Window
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
        starved = f',"state":"starved","reason":{json_text("shortage:" + parts[part].part)}'
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


def _receipt_events(run: SimRun) -> _Window:
    """Goods receipts up to the cut-off: one `part.received` per lot, its text made when it
    is written (`_receipt_body`: a serialized lot lists every serial)."""
    window = _Window([], [], [], [])
    for index, lots in enumerate(run.supply.parts):
        count = int(np.searchsorted(lots.arrival_s, run.until_s, side="right"))
        window.time_s += lots.arrival_s[:count].tolist()
        window.car += [-1] * count
        window.step += [1_000 + index] * count
        window.body += [(index, lot) for lot in range(1, count + 1)]
    return window


def _receipt_body(run: SimRun, texts: RunTexts, index: int, lot: int) -> str:
    """The `part.received` of lot `lot` (from 1) of part `index` of the supply plan."""
    lots = run.supply.parts[index]
    size = lots.lot_size
    if lots.serialized:
        first = (lot - 1) * size + 1
        serial = Template([json_text(f"{lots.part}-")[:-1].encode(), Digits(8), b'"'])
        serials = b",".join(serial.fill([np.arange(first, first + size)])).decode()
        trace = f',"serials":[{serials}]'
    else:
        trace = f',"lot":"{lots.part}-L{lot:05d}"'
    return (
        f'part.received|r{index + 1:03d}-{lot:06d}|,"line":{texts.line},'
        f'"part":{json_text(lots.part)},"quantity":{size},"supplier":{json_text(lots.supplier)}'
        f"{trace}"
    )


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
    if isinstance(lines, EventStream):
        return EventStream(_counted_blocks(lines.blocks(), counts))
    return _counted_lines(lines, counts)


def _counted_lines(lines: Iterator[bytes], counts: StreamCounts) -> Iterator[bytes]:
    for line in lines:
        if not counts.events:
            counts.first_ts = _stamp_of(line)
        counts.events += 1
        if line.startswith(b'{"kind":"unit.'):
            if line.startswith(b'{"kind":"unit.started"'):
                counts.started += 1
            elif line.startswith(b'{"kind":"unit.completed"'):
                counts.completed += 1
                counts.last_completed_vin = _vin_of(line)
        yield line
    if counts.events:
        counts.last_ts = _stamp_of(line)


def _counted_blocks(blocks: Iterator[_Block], counts: StreamCounts) -> Iterator[_Block]:
    for block in blocks:
        if not counts.events:
            counts.first_ts = _stamp_of(block.lines[0])
        counts.events += len(block.lines)
        counts.started += block.started
        if block.completed:
            counts.completed += block.completed
            counts.last_completed_vin = _vin_of(block.lines[block.last_completed])
        counts.last_ts = _stamp_of(block.lines[-1])
        yield block


def _vin_of(line: bytes) -> str:
    return line[line.index(b'"vin":"') + 7 :][:17].decode()


def _stamp_of(line: bytes) -> str:
    return line[line.index(b'"ts":"') + 6 :].split(b'"', 1)[0].decode()


def write_lines(
    lines: Iterator[bytes], path: Path, *, progress: Callable[[int], None] | None = None
) -> None:
    """Write event lines to a JSONL file (`-` for standard output), newline-terminated."""
    handle = sys.stdout.buffer if str(path) == "-" else path.open("wb")
    try:
        for chunk in _chunks(lines):
            handle.write(b"\n".join(chunk))
            handle.write(b"\n")
            if progress is not None:
                progress(len(chunk))
    finally:
        if handle is not sys.stdout.buffer:
            handle.close()


def _chunks(lines: Iterator[bytes]) -> Iterator[list[bytes]]:
    """`lines` in lists of at most `_WRITE_LINES` (none empty)."""
    if isinstance(lines, EventStream):
        for block in lines.blocks():
            for begin in range(0, len(block.lines), _WRITE_LINES):
                yield block.lines[begin : begin + _WRITE_LINES]
        return
    while chunk := list(islice(lines, _WRITE_LINES)):
        yield chunk
