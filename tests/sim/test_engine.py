"""The line engine against hand-computed timelines and against a SimPy model of the same line."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from linespeed.errors import LinespeedError
from linespeed.sim.engine import LineTimes, departures, line_times, station_shares

Floats = NDArray[np.float64]
NO_DOWN = np.empty((0, 2))


# --- the SimPy reference model -------------------------------------------------------------


def simpy_departures(
    process_s: Floats,
    buffers: Sequence[int],
    release_s: Floats | None = None,
    part_ready_s: dict[int, Floats] | None = None,
) -> Floats:
    """Departure times D(i, j) of the line, simulated by SimPy: one process per station.

    Cars wait for station i in a FIFO store (unbounded: room is counted by the containers).
    `places[i]` holds the b_i + 1 places downstream of station i, in {buffer i, station
    i+1}: a car takes one before it leaves station i and gives it back when it leaves
    station i+1. Car j is released by `yield env.timeout(r_j)` in a process started at t=0.
    Station i, given `part_ready_s[i]`, holds car j until its parts are there.
    """
    ready = part_ready_s or {}
    n_cars, n_stations = process_s.shape
    env = simpy.Environment()
    waiting = [simpy.Store(env) for _ in range(n_stations)]
    places = [
        simpy.Container(env, capacity=int(buffers[i]) + 1, init=int(buffers[i]) + 1)
        for i in range(n_stations - 1)
    ]
    depart_s = np.full((n_cars, n_stations), np.nan)

    def release(car: int, at_s: float) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(at_s)
        yield waiting[0].put(car)

    def station(i: int) -> Generator[simpy.Event, Any, None]:
        for _ in range(n_cars):
            car = yield waiting[i].get()
            if i in ready and ready[i][car] > env.now:
                yield env.timeout(ready[i][car] - env.now)  # waiting for the car's parts
            yield env.timeout(process_s[car, i])
            if i < n_stations - 1:
                yield places[i].get(1)
            if i > 0:
                yield places[i - 1].put(1)
            depart_s[car, i] = env.now
            if i < n_stations - 1:
                yield waiting[i + 1].put(car)

    for car in range(n_cars):
        env.process(release(car, 0.0 if release_s is None else float(release_s[car])))
    for i in range(n_stations):
        env.process(station(i))
    env.run()
    assert not np.isnan(depart_s).any(), "the SimPy model did not finish every car"
    return depart_s


# --- a pure-Python reference for up time -----------------------------------------------------


def reference_up_time_after(down_s: Floats, start_s: float, work_s: float) -> float:
    """Earliest t >= start_s with work_s s of up time in [start_s, t]; scans every interval."""
    if work_s == 0:
        return start_s
    time_s, left_s = start_s, work_s
    for down_start, down_end in down_s.tolist():
        if down_end <= time_s:
            continue
        if down_start <= time_s:
            time_s = down_end
            continue
        if time_s + left_s <= down_start:
            return time_s + left_s
        left_s -= down_start - time_s
        time_s = down_end
    return time_s + left_s


def reference_line_times(
    process_s: Floats,
    buffers: Sequence[int],
    release_s: Floats,
    down_s: Sequence[Floats],
    part_ready_s: dict[int, Floats] | None = None,
) -> tuple[Floats, Floats, Floats]:
    """S, C and D by the recurrence, written plainly in Python."""
    n_cars, n_stations = process_s.shape
    start, complete, depart = (np.zeros((n_cars, n_stations)) for _ in range(3))
    ready = part_ready_s or {}
    for j in range(n_cars):
        for i in range(n_stations):
            start[j, i] = max(
                release_s[j] if i == 0 else depart[j, i - 1],
                depart[j - 1, i] if j else 0.0,
                float(ready[i][j]) if i in ready else 0.0,
            )
            complete[j, i] = reference_up_time_after(down_s[i], start[j, i], process_s[j, i])
            ahead = j - buffers[i] - 1
            blocker = depart[ahead, i + 1] if i < n_stations - 1 and ahead >= 0 else 0.0
            depart[j, i] = max(complete[j, i], blocker)
    return start, complete, depart


def up_time(down_s: Floats, since_s: float, until_s: float) -> float:
    """Seconds of up time in [since_s, until_s]."""
    overlap = np.clip(
        np.minimum(down_s[:, 1], until_s) - np.maximum(down_s[:, 0], since_s), 0, None
    )
    return until_s - since_s - float(overlap.sum())


# --- strategies --------------------------------------------------------------------------------

seconds = st.one_of(
    st.sampled_from([0.0, 0.5, 30.0, 60.0, 200.0]),
    st.floats(min_value=0, max_value=200, allow_nan=False, allow_infinity=False),
)


def sampled(draw: st.DrawFn, shape: tuple[int, ...], high_s: float) -> Floats:
    """Uniform random seconds in [0, high_s], some replaced by a few drawn values (ties, zeros).

    Hypothesis draws the seed, the pool and the share; numpy fills the array, which is much
    faster than drawing thousands of floats one by one.
    """
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    pool = draw(st.lists(seconds.map(lambda value: value * high_s / 200), min_size=1, max_size=6))
    share = draw(st.sampled_from([0.0, 0.3, 0.9, 1.0]))
    values = rng.uniform(0, high_s, shape)
    from_pool = rng.random(shape) < share
    values[from_pool] = rng.choice(pool, size=int(from_pool.sum()))
    return values


@st.composite
def lines(draw: st.DrawFn) -> tuple[Floats, list[int], Floats | None]:
    """A random line: 1-60 stations, buffers 0-5, 1-40 cars, with or without release times."""
    n_stations = draw(st.integers(1, 60))
    n_cars = draw(st.integers(1, 40))
    process = sampled(draw, (n_cars, n_stations), 200.0)
    buffers = draw(st.lists(st.integers(0, 5), min_size=n_stations, max_size=n_stations))
    release = np.sort(sampled(draw, (n_cars,), 5000.0)) if draw(st.booleans()) else None
    return process, buffers, release


@st.composite
def down_intervals(draw: st.DrawFn, n_stations: int) -> list[Floats]:
    """Per station 0-8 sorted, non-overlapping [start, end); some touch, some start at 0."""
    counts = draw(st.lists(st.integers(0, 8), min_size=n_stations, max_size=n_stations))
    gaps = sampled(draw, (n_stations, 8), 300.0)
    lengths = np.maximum(sampled(draw, (n_stations, 8), 200.0), 0.5)
    down = []
    for count, station_gaps, station_lengths in zip(counts, gaps, lengths, strict=True):
        intervals, time_s = [], 0.0
        for gap, length in zip(
            station_gaps[:count].tolist(), station_lengths.tolist(), strict=False
        ):
            intervals.append((time_s + gap, time_s + gap + length))
            time_s = time_s + gap + length
        down.append(np.array(intervals, dtype=np.float64).reshape(-1, 2))
    return down


# --- properties ----------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(lines())
@pytest.mark.slow
def test_departures_equal_simpy_exactly(line: tuple[Floats, list[int], Floats | None]) -> None:
    process, buffers, release = line
    depart = departures(process, buffers, release)
    assert np.array_equal(depart, simpy_departures(process, buffers, release))
    assert np.array_equal(line_times(process, buffers, release).depart_s, depart)


@settings(max_examples=100, deadline=None)
@given(lines(), st.data())
@pytest.mark.slow
def test_line_times_waiting_for_parts_equal_simpy(
    line: tuple[Floats, list[int], Floats | None], data: st.DataObject
) -> None:
    process, buffers, release = line
    n_cars, n_stations = process.shape
    waiting = data.draw(st.lists(st.integers(0, n_stations - 1), max_size=3, unique=True))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    ready = {s: np.asarray(rng.random(n_cars), dtype=np.float64) * 5000.0 for s in waiting}
    depart = line_times(process, buffers, release, part_ready_s=ready).depart_s
    # SimPy reaches a part's moment by adding the wait to its clock: equal up to rounding
    assert np.allclose(depart, simpy_departures(process, buffers, release, ready), rtol=1e-12)


@settings(max_examples=100, deadline=None)
@given(lines(), st.data())
@pytest.mark.slow
def test_line_times_with_down_intervals_equal_the_reference(
    line: tuple[Floats, list[int], Floats | None], data: st.DataObject
) -> None:
    process, buffers, release = line
    n_cars, n_stations = process.shape
    down = data.draw(down_intervals(n_stations))
    waiting = data.draw(st.lists(st.integers(0, n_stations - 1), max_size=3, unique=True))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    ready = {  # parts on hand at random moments, some cars needing none (0)
        station: np.where(rng.random(n_cars) < 0.3, 0.0, rng.uniform(0, 5000.0, n_cars))
        for station in waiting
    }
    times = line_times(process, buffers, release, down, ready)
    release_s = np.zeros(n_cars) if release is None else release
    start, complete, depart = reference_line_times(process, buffers, release_s, down, ready)
    assert np.array_equal(times.start_s, start)
    assert np.array_equal(times.complete_s, complete)
    assert np.array_equal(times.depart_s, depart)
    shares = station_shares(times, process)
    total = sum(shares.values())
    assert np.allclose(total, depart[-1], rtol=1e-9, atol=1e-6)


@pytest.mark.slow
@given(down_intervals(1), st.floats(0, 2000), seconds)
def test_reference_up_time_after_meets_its_definition(
    stations_down: list[Floats], start_s: float, work_s: float
) -> None:
    down = stations_down[0]
    complete_s = reference_up_time_after(down, start_s, work_s)
    assert complete_s >= start_s
    assert up_time(down, start_s, complete_s) == pytest.approx(work_s, rel=1e-9, abs=1e-9)
    if work_s > 0:  # earliest: C is not inside a down interval, unless it is that interval's end
        inside = (down[:, 0] < complete_s) & (complete_s < down[:, 1])
        assert not inside.any()


# --- whole timelines, by hand ---------------------------------------------------------------


def test_fast_upstream_is_blocked_by_a_slow_station_without_buffer() -> None:
    process = np.array([[1.0, 5.0, 1.0]] * 3)
    assert departures(process, [0, 0, 0]).tolist() == [[1, 6, 7], [6, 11, 12], [11, 16, 17]]
    assert departures(np.asfortranarray(process), np.array([0, 0, 0], dtype=np.uint8)).tolist() == [
        [1, 6, 7],
        [6, 11, 12],
        [11, 16, 17],
    ]


def test_a_buffer_delays_blocking() -> None:
    process = np.array([[1.0, 4.0]] * 4)
    times = line_times(process, [1, 0])
    assert times.start_s.tolist() == [[0, 1], [1, 5], [2, 9], [5, 13]]
    assert times.complete_s.tolist() == [[1, 5], [2, 9], [3, 13], [6, 17]]
    assert times.depart_s.tolist() == [[1, 5], [2, 9], [5, 13], [9, 17]]
    shares = station_shares(times, process)
    assert {name: values.tolist() for name, values in shares.items()} == {
        "working": [4, 16],
        "down_in_cycle": [0, 0],
        "blocked": [5, 0],
        "starved": [0, 1],
    }


def test_downstream_stations_starve_behind_a_slow_first_station() -> None:
    process = np.array([[5.0, 1.0, 1.0]] * 3)
    times = line_times(process, [0, 0, 0])
    assert times.depart_s.tolist() == [[5, 6, 7], [10, 11, 12], [15, 16, 17]]
    assert station_shares(times, process)["starved"].tolist() == [0, 13, 14]


def test_release_times_hold_cars_back() -> None:
    process = np.array([[2.0, 2.0]] * 3)
    release = np.array([0.0, 10.0, 10.0])
    assert departures(process, [0, 0], release).tolist() == [[2, 4], [12, 14], [14, 16]]


def test_zero_times_pass_through() -> None:
    process = np.array([[0.0, 3.0], [0.0, 0.0], [0.0, 3.0]])
    assert departures(process, [0, 0]).tolist() == [[0, 3], [3, 3], [3, 6]]


def test_no_cars_gives_an_empty_line() -> None:
    assert departures(np.zeros((0, 3)), [0, 0, 0], np.zeros(0)).shape == (0, 3)
    times = line_times(np.zeros((0, 2)), [1, 1], down_s=[np.array([[1.0, 2.0]]), np.array([])])
    assert times.start_s.shape == times.complete_s.shape == times.depart_s.shape == (0, 2)
    assert station_shares(times, np.zeros((0, 2)))["starved"].tolist() == [0, 0]


def test_a_station_waits_for_parts_and_the_line_behind_it_blocks() -> None:
    process = np.array([[1.0, 2.0, 1.0]] * 3)
    # station 1 has the parts of car 1 only at t=10 (a release time in S at that station)
    times = line_times(process, [0, 0, 0], part_ready_s={1: np.array([0.0, 10.0, 0.0])})
    assert times.start_s.tolist() == [[0, 1, 3], [1, 10, 12], [3, 12, 14]]
    assert times.depart_s.tolist() == [[1, 3, 4], [3, 12, 13], [12, 14, 15]]
    shares = station_shares(times, process)
    assert shares["starved"].tolist() == [0, 1 + 7, 3 + 8 + 1]  # waiting for parts is starved
    assert shares["blocked"].tolist() == [1 + 8, 0, 0]  # the car behind cannot move on


# --- down intervals, by hand ------------------------------------------------------------------


def one_station(process: list[float], down: list[list[float]]) -> LineTimes:
    return line_times(np.array(process).reshape(-1, 1), [0], down_s=[np.array(down)])


def test_a_break_in_the_middle_of_a_cycle_pauses_it() -> None:
    assert one_station([10.0], [[4.0, 9.0]]).complete_s.tolist() == [[15.0]]


def test_a_cycle_that_ends_as_a_break_starts_is_done() -> None:
    assert one_station([4.0], [[4.0, 9.0]]).complete_s.tolist() == [[4.0]]


def test_touching_breaks_are_one_pause() -> None:
    assert one_station([3.0], [[2.0, 4.0], [4.0, 6.0]]).complete_s.tolist() == [[7.0]]


def test_a_car_arriving_during_a_break_starts_after_it() -> None:
    times = line_times(np.array([[6.0, 3.0]]), [0, 0], down_s=[NO_DOWN, np.array([[5.0, 20.0]])])
    assert times.start_s.tolist() == [[0, 6]]
    assert times.complete_s.tolist() == [[6, 23]]
    assert times.depart_s.tolist() == [[6, 23]]


def test_zero_work_inside_a_break_completes_at_once() -> None:
    times = one_station([0.0, 2.0], [[0.0, 10.0]])
    assert times.complete_s.tolist() == [[0.0], [12.0]]


def test_breaks_across_cars() -> None:
    process = np.array([[4.0], [4.0]])
    times = one_station([4.0, 4.0], [[3.0, 5.0], [8.0, 9.0]])
    assert times.start_s.tolist() == [[0], [6]]
    assert times.complete_s.tolist() == [[6], [11]]
    assert times.depart_s.tolist() == [[6], [11]]
    shares = station_shares(times, process)
    assert {name: values.tolist() for name, values in shares.items()} == {
        "working": [8],
        "down_in_cycle": [3],
        "blocked": [0],
        "starved": [0],
    }


# --- bad input --------------------------------------------------------------------------------

GOOD = np.ones((2, 2))


@pytest.mark.parametrize(
    ("call", "names"),
    [
        (lambda: departures(np.ones(3), [0, 0, 0]), "process_s"),
        (lambda: departures(np.ones((2, 0)), []), "process_s"),
        (lambda: departures(np.array([[1.0, -1.0]]), [0, 0]), "process_s[0, 1] = -1.0"),
        (lambda: departures(np.array([[1.0], [np.nan]]), [0]), "process_s[1, 0] = nan"),
        (lambda: departures(np.array([["a"]]), [0]), "process_s"),
        (lambda: departures(GOOD, [0]), "buffers"),
        (lambda: departures(GOOD, [0, -1]), "buffers must be whole numbers >= 0: [0, -1]"),
        (lambda: departures(GOOD, [0.5, 0]), "buffers"),
        (lambda: departures(GOOD, [0, 0], np.zeros(3)), "release_s"),
        (lambda: departures(GOOD, [0, 0], np.array([5.0, 1.0])), "release_s[1] = 1.0"),
        (lambda: departures(GOOD, [0, 0], np.array([-1.0, 1.0])), "release_s[0] = -1.0"),
        (lambda: line_times(GOOD, [0, 0], down_s=[NO_DOWN]), "down_s"),
        (
            lambda: line_times(GOOD, [0, 0], down_s=[NO_DOWN, np.array([[3.0, 3.0]])]),
            "down_s[1][0]",
        ),
        (lambda: line_times(GOOD, [0, 0], down_s=[np.array([1.0, 2.0]), NO_DOWN]), "down_s[0]"),
        (
            lambda: line_times(GOOD, [0, 0], down_s=[np.array([[-1.0, 2.0]]), NO_DOWN]),
            "down_s[0][0, 0]",
        ),
        (
            lambda: line_times(GOOD, [0, 0], down_s=[np.array([[1.0, 5.0], [4.0, 6.0]]), NO_DOWN]),
            "down_s[0][1] = [4.0, 6.0]",
        ),
        (
            lambda: line_times(GOOD, [0, 0], down_s=[np.array([[5.0, 6.0], [1.0, 2.0]]), NO_DOWN]),
            "down_s[0][1] = [1.0, 2.0]",
        ),
        (
            lambda: line_times(GOOD, [0, 0], down_s=[np.array([[1.0, np.inf]]), NO_DOWN]),
            "down_s[0][0, 1] = inf",
        ),
        (lambda: station_shares(line_times(GOOD, [0, 0]), np.ones((3, 2))), "process_s"),
        (lambda: line_times(GOOD, [0, 0], part_ready_s={2: np.zeros(2)}), "station 2"),
        (lambda: line_times(GOOD, [0, 0], part_ready_s={0: np.zeros(3)}), "part_ready_s[0]"),
        (
            lambda: line_times(GOOD, [0, 0], part_ready_s={1: np.array([1.0, np.nan])}),
            "part_ready_s[1][1] = nan",
        ),
    ],
)
def test_bad_input_is_refused_naming_the_argument(call: Any, names: str) -> None:
    with pytest.raises(LinespeedError) as raised:
        call()
    assert raised.value.code == "sim.input"
    assert names in raised.value.message
