"""The line engine: start, completion and departure times of a serial line, computed directly.

The line has M stations in flow order and a buffer of `buffers[i]` places after station i.
Every car visits every station in the same first-in-first-out order, the line starts empty
at t=0, and a car leaves station i only when there is room downstream: a free place in
buffer i or station i+1 itself (blocking after service). For car j at station i, with
p = `process_s[j, i]`, b_i = `buffers[i]` and D(-1, j) = `release_s[j]` (or 0):

    S(i, j) = max(D(i-1, j), D(i, j-1)[, R(i, j)])  start; R: when station i has car j's
                                                    parts on hand (supply), if given
    C(i, j) = up_time_after(i, S(i, j), p)          completion (S + p when always up)
    D(i, j) = max(C(i, j), D(i+1, j-b_i-1))         departure; the second term only for
                                                    i < M-1 and j-b_i-1 >= 0

D(i, j) needs D(i+1, j-b_i-1), a car earlier in sequence, so the kernels go car by car,
station by station. Public API (all times in seconds from t=0, arrays are N cars x M stations):

- `departures(process_s, buffers, release_s=None)` -> D
- `line_times(process_s, buffers, release_s=None, down_s=None, part_ready_s=None)` ->
  `LineTimes` (S, C, D), with down intervals (shifts off, breaks, failures) entering through
  `up_time_after` and part shortages through R in S
- `station_shares(times, process_s)` -> seconds working, down in cycle, blocked, starved

Bad input raises `SimInputError` (code "sim.input"), naming the argument and the value.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from linespeed.sim.errors import SimInputError

__all__ = ["LineTimes", "departures", "line_times", "station_shares"]

_Function = TypeVar("_Function", bound=Callable[..., Any])
Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


def _kernel(function: _Function) -> _Function:
    """Compile `function` with numba in nopython mode, cached on disk across processes."""
    return cast(_Function, numba.njit(cache=True)(function))


def _empty(like: Floats) -> Floats:
    """An uninitialised array shaped as `like`, made by numpy (in huge pages where the
    system gives them: far fewer page faults than arrays numba allocates)."""
    return np.empty(like.shape, dtype=np.float64)


@_kernel
def _departures_kernel(
    process_s: Floats, buffers: Ints, release_s: Floats, depart_s: Floats
) -> None:
    """D of the recurrence for an always-up line (only D is kept), into `depart_s`."""
    n_cars, n_stations = process_s.shape
    for car in range(n_cars):
        upstream = release_s[car]
        for station in range(n_stations):
            start = max(upstream, depart_s[car - 1, station]) if car > 0 else upstream
            depart = start + process_s[car, station]
            if station < n_stations - 1:
                ahead = car - buffers[station] - 1
                if ahead >= 0:
                    depart = max(depart, depart_s[ahead, station + 1])
            depart_s[car, station] = depart
            upstream = depart


@_kernel
def _up_time_after(
    down_s: Floats, index: int, stop: int, start_s: float, work_s: float
) -> tuple[float, int]:
    """(C, next index): when `work_s` seconds of up time from `start_s` are done.

    `down_s[index:stop]` are the station's intervals not yet passed; preempt-resume.
    """
    if work_s == 0.0:
        return start_s, index
    time_s = start_s
    left_s = work_s
    while True:
        while index < stop and down_s[index, 1] <= time_s:
            index += 1
        if index == stop:
            return time_s + left_s, index
        if down_s[index, 0] <= time_s:  # inside a down interval: wait for its end
            time_s = down_s[index, 1]
            index += 1
            continue
        finish_s = time_s + left_s
        if finish_s <= down_s[index, 0]:
            return finish_s, index
        left_s -= down_s[index, 0] - time_s
        time_s = down_s[index, 0]


@_kernel
def _line_times_kernel(
    process_s: Floats,
    buffers: Ints,
    release_s: Floats,
    down_s: Floats,
    down_offsets: Ints,
    ready_s: Floats,
    ready_column: Ints,
    start_s: Floats,
    complete_s: Floats,
    depart_s: Floats,
    kept_column: Ints,
    kept_s: Floats,
) -> None:
    """S, C and D of the recurrence, into `start_s`, `complete_s` and `depart_s`; station i
    is down in `down_s[offsets[i]:offsets[i+1]]`.

    Station i also waits for `ready_s[car, ready_column[i]]` (its parts) where the column is >= 0.
    `depart_s` holds the departures of the last `len(depart_s)` cars (car j in row j mod
    rows: all cars when it has a row per car); those of station i also go to
    `kept_s[:, kept_column[i]]` where the column is >= 0.
    """
    n_cars, n_stations = process_s.shape
    rows = depart_s.shape[0]
    cursor = down_offsets[:-1].copy()  # one per station, only moves forward (S is non-decreasing)
    for car in range(n_cars):
        upstream = release_s[car]
        row = car % rows
        before = (car - 1) % rows
        for station in range(n_stations):
            start = max(upstream, depart_s[before, station]) if car > 0 else upstream
            column = ready_column[station]
            if column >= 0:
                start = max(start, ready_s[car, column])
            complete, index = _up_time_after(
                down_s, cursor[station], down_offsets[station + 1], start, process_s[car, station]
            )
            cursor[station] = index
            depart = complete
            if station < n_stations - 1:
                ahead = car - buffers[station] - 1
                if ahead >= 0:
                    depart = max(depart, depart_s[ahead % rows, station + 1])
            start_s[car, station] = start
            complete_s[car, station] = complete
            depart_s[row, station] = depart
            if kept_column[station] >= 0:
                kept_s[car, kept_column[station]] = depart
            upstream = depart


@dataclass(frozen=True, eq=False)
class LineTimes:
    """Start (S), completion (C) and departure (D) times of every car at every station.

    Each is an (N cars x M stations) float64 array of seconds from t=0. C - S - p is the time
    a station was down during a cycle, D - C the time it was blocked by a full downstream.
    """

    start_s: Floats
    complete_s: Floats
    depart_s: Floats
    kept_depart_s: Mapping[int, Floats] = field(default_factory=dict)
    """With `line_times(departures_of=...)`: the departures of those stations only."""


def _input_error(parameter: str, message: str, value: object = None) -> SimInputError:
    return SimInputError(message, parameter=parameter, value=value)


def _float_array(name: str, value: object, ndim: int) -> Floats:
    """`value` as a C-contiguous float64 array of `ndim` dimensions, all finite and >= 0."""
    try:
        array = np.ascontiguousarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise _input_error(
            name, f"{name} must be an array of seconds, not {reprlib.repr(value)}"
        ) from error
    if array.ndim != ndim:
        raise _input_error(name, f"{name} must have {ndim} dimension(s), got shape {array.shape}")
    if array.size and not (array.min() >= 0.0 and array.max() < np.inf):  # NaN fails too
        bad = ~(np.isfinite(array) & (array >= 0.0))
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        where = ", ".join(map(str, at))
        raise _input_error(
            name, f"{name}[{where}] = {float(array[at])!r}: times must be finite and >= 0 s"
        )
    return array


def _process_matrix(process_s: ArrayLike) -> Floats:
    process = _float_array("process_s", process_s, 2)
    if process.shape[1] == 0:
        raise _input_error(
            "process_s", f"process_s has shape {process.shape}: a line needs one station"
        )
    return process


def _line_inputs(
    process_s: ArrayLike, buffers: ArrayLike, release_s: ArrayLike | None
) -> tuple[Floats, Ints, Floats]:
    """Checked process times, buffers and release times (zeros when not given)."""
    process = _process_matrix(process_s)
    n_cars, n_stations = process.shape
    places = np.asarray(buffers)
    if places.ndim != 1 or len(places) != n_stations:
        raise _input_error(
            "buffers",
            f"buffers must hold {n_stations} sizes, one per station: {reprlib.repr(buffers)}",
        )
    whole = places.dtype.kind in "iuf" and np.all(np.isfinite(places) & (places % 1 == 0))
    if not whole or np.any(places < 0):
        raise _input_error(
            "buffers", f"buffers must be whole numbers >= 0: {reprlib.repr(buffers)}"
        )
    if release_s is None:
        return process, places.astype(np.int64), np.zeros(n_cars)
    release = _float_array("release_s", release_s, 1)
    if len(release) != n_cars:
        raise _input_error("release_s", f"release_s has {len(release)} times for {n_cars} cars")
    earlier = np.flatnonzero(np.diff(release) < 0)
    if len(earlier):
        car = int(earlier[0]) + 1
        raise _input_error(
            "release_s",
            f"release_s[{car}] = {float(release[car])!r} is before release_s[{car - 1}] = "
            f"{float(release[car - 1])!r}: cars enter a FIFO line in order, so release times must "
            "be non-decreasing",
        )
    return process, places.astype(np.int64), release


def _down_intervals(down_s: Sequence[ArrayLike] | None, n_stations: int) -> tuple[Floats, Ints]:
    """The per-station down intervals as one flat (K x 2) array and M + 1 offsets (CSR)."""
    if down_s is None:
        return np.zeros((0, 2)), np.zeros(n_stations + 1, dtype=np.int64)
    if len(down_s) != n_stations:
        raise _input_error("down_s", f"down_s has {len(down_s)} entries for {n_stations} stations")
    per_station: list[Floats] = []
    for station, intervals in enumerate(down_s):
        name = f"down_s[{station}]"
        array = _float_array(name, intervals, np.ndim(intervals))
        array = array.reshape(0, 2) if array.size == 0 else array
        if array.ndim != 2 or array.shape[1] != 2:
            raise _input_error(
                "down_s", f"{name} must be a (K x 2) array of [start, end), got {array.shape}"
            )
        empty = np.flatnonzero(array[:, 1] <= array[:, 0])
        if len(empty):
            k = int(empty[0])
            raise _input_error(
                "down_s", f"{name}[{k}] = {array[k].tolist()}: end must be after start"
            )
        overlap = np.flatnonzero(array[1:, 0] < array[:-1, 1])
        if len(overlap):
            k = int(overlap[0]) + 1
            raise _input_error(
                "down_s",
                f"{name}[{k}] = {array[k].tolist()} starts before {name}[{k - 1}] ends: "
                "intervals must be sorted and must not overlap",
            )
        per_station.append(array)
    offsets = np.zeros(n_stations + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(array) for array in per_station])
    return np.ascontiguousarray(np.concatenate(per_station)), offsets


def _ready_columns(
    part_ready_s: Mapping[int, ArrayLike] | None, n_cars: int, n_stations: int
) -> tuple[Floats, Ints]:
    """The part-ready times as an (N x K) array and, per station, its column or -1."""
    columns = np.full(n_stations, -1, dtype=np.int64)
    if not part_ready_s:
        return np.zeros((n_cars, 0)), columns
    ready = np.empty((n_cars, len(part_ready_s)))
    for column, (station, times) in enumerate(sorted(part_ready_s.items())):
        if not (isinstance(station, int | np.integer) and 0 <= station < n_stations):
            raise _input_error(
                "part_ready_s", f"part_ready_s names station {station!r}: not on the line"
            )
        array = _float_array(f"part_ready_s[{station}]", times, 1)
        if len(array) != n_cars:
            raise _input_error(
                "part_ready_s", f"part_ready_s[{station}] has {len(array)} times for {n_cars} cars"
            )
        ready[:, column] = array
        columns[station] = column
    return ready, columns


def departures(
    process_s: NDArray[np.float64], buffers: ArrayLike, release_s: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """Departure times D of a serial FIFO line with blocking after service, empty at t=0.

    `process_s` is an (N cars x M stations) array of processing seconds, `buffers` the M
    buffer sizes after each station (the last is ignored), `release_s` the (N,) earliest
    entry times, non-decreasing (default: every car available at 0). Returns the (N x M)
    float64 departure times; N = 0 gives a (0 x M) array. Equal to `line_times(...).depart_s`.

    Raises SimInputError (code "sim.input") if an argument has the wrong shape, a time is
    negative or not finite, a buffer is negative or not whole, or release times decrease.
    """
    process, places, release = _line_inputs(process_s, buffers, release_s)
    depart = _empty(process)
    _departures_kernel(process, places, release, depart)
    return depart


def line_times(
    process_s: NDArray[np.float64],
    buffers: ArrayLike,
    release_s: NDArray[np.float64] | None = None,
    down_s: Sequence[NDArray[np.float64]] | None = None,
    part_ready_s: Mapping[int, NDArray[np.float64]] | None = None,
    departures_of: Sequence[int] | None = None,
) -> LineTimes:
    """Start, completion and departure times of the line, with stations that go down.

    Arguments as for `departures`, plus `down_s[i]`: a (K_i x 2) array of sorted,
    non-overlapping [start, end) intervals (seconds from t=0) when station i cannot work;
    None or empty means always up. Work is preempt-resume: C(i, j) is the earliest t >= S
    with p(i, j) seconds of up time in [S, t]; p = 0 gives C = S even when down, and work
    that would start inside a down interval starts at its end. Without down intervals,
    `depart_s` equals `departures(...)` exactly. Runs in O(N x M + K).

    `part_ready_s[i]`, if given, holds per car the moment station i has the car's parts on
    hand: a release time in S, S(i, j) = max(D(i-1, j), D(i, j-1), ready(i, j)).

    With `departures_of` (station indices), only those stations' departures are kept: in
    `LineTimes.kept_depart_s` (station -> N departures), `depart_s` then being (0 x M);
    the line needs a third less memory.

    Raises SimInputError (code "sim.input") as `departures` does, and if `down_s` does not
    hold one entry per station or an interval is negative, not finite, empty (end <= start),
    unsorted or overlapping, if `part_ready_s` names a station not on the line or does
    not hold one finite time >= 0 per car, or if `departures_of` names a station not on it.
    """
    process, places, release = _line_inputs(process_s, buffers, release_s)
    n_cars, n_stations = process.shape
    down, offsets = _down_intervals(down_s, n_stations)
    ready, columns = _ready_columns(part_ready_s, n_cars, n_stations)
    start, complete = _empty(process), _empty(process)
    kept_column = np.full(n_stations, -1, dtype=np.int64)
    if departures_of is None:
        depart = _empty(process)
    else:
        kept = sorted(set(departures_of))
        if any(not 0 <= station < n_stations for station in kept):
            raise _input_error(
                "departures_of", f"departures_of names stations not on the line: {kept}"
            )
        kept_column[kept] = np.arange(len(kept))
        # the cars a departure still holds up: the one behind, and one a buffer behind
        depart = np.empty((int(places.max(initial=0)) + 2, n_stations))
    kept_s = np.empty((n_cars, int((kept_column >= 0).sum())))
    _line_times_kernel(
        process,
        places,
        release,
        down,
        offsets,
        ready,
        columns,
        start,
        complete,
        depart,
        kept_column,
        kept_s,
    )
    if departures_of is None:
        return LineTimes(start_s=start, complete_s=complete, depart_s=depart)
    return LineTimes(
        start_s=start,
        complete_s=complete,
        depart_s=np.empty((0, n_stations)),
        kept_depart_s={
            int(station): kept_s[:, int(kept_column[station])]
            for station in sorted(set(departures_of))
        },
    )


def station_shares(times: LineTimes, process_s: NDArray[np.float64]) -> dict[str, Floats]:
    """Seconds each station spent working, down in a cycle, blocked and starved (M each).

    "working" is the sum of p, "down_in_cycle" of C - S - p, "blocked" of D - C, "starved"
    of S(i, j) - D(i, j-1), plus S(i, 0) for the first car (down time while starved counts as
    starved). Per station the four add up to its last departure, D(i, N-1).

    Raises SimInputError (code "sim.input") if `process_s` is not valid or its shape
    differs from the times'.
    """
    process = _process_matrix(process_s)
    if process.shape != times.depart_s.shape:
        raise _input_error(
            "process_s",
            f"process_s has shape {process.shape}, the line times {times.depart_s.shape}",
        )
    start, complete, depart = times.start_s, times.complete_s, times.depart_s
    return {
        "working": process.sum(axis=0),
        "down_in_cycle": (complete - start - process).sum(axis=0),
        "blocked": (depart - complete).sum(axis=0),
        "starved": start[:1].sum(axis=0) + (start[1:] - depart[:-1]).sum(axis=0),
    }
