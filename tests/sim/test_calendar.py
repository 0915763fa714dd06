"""The work calendar: made once per process for the same inputs, merged and converted exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from linespeed.errors import LinespeedError
from linespeed.sim import calendar as calendar_module
from linespeed.sim.calendar import WorkCalendar, merge_intervals
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, LoadedScenario, load_scenario

Floats = NDArray[np.float64]


@pytest.fixture(scope="module")
def loaded() -> LoadedScenario:
    return load_scenario(DEFAULT_SCENARIO_PATH)


def _fresh(loaded: LoadedScenario, days: int) -> WorkCalendar:
    """A calendar made with nothing cached."""
    calendar_module._CACHE.clear()
    calendar_module._DAY_SPANS.clear()
    return WorkCalendar(loaded.plant, loaded.scenario, days)


def _merge_by_loop(spans: Floats) -> Floats:
    """The reference: sorted spans joined one by one where they touch or overlap."""
    merged: list[list[float]] = []
    for start, end in spans.tolist():
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return np.array(merged, dtype=np.float64).reshape(-1, 2)


def _to_wall_by_search(calendar: WorkCalendar, work_s: Floats) -> Floats:
    """The reference: `to_wall` by numpy's searchsorted."""
    index = np.searchsorted(calendar.work_before, work_s, side="right") - 1
    index = np.clip(index, 0, len(calendar.work) - 1)
    return np.asarray(calendar.work[index, 0] + (work_s - calendar.work_before[index]))


@pytest.mark.parametrize("order", [(30, 400, 30, 200), (400, 30, 401, 399)])
def test_a_calendar_is_the_same_whatever_was_made_before(
    loaded: LoadedScenario, order: tuple[int, ...]
) -> None:
    expected = {days: _fresh(loaded, days) for days in set(order)}
    calendar_module._CACHE.clear()
    calendar_module._DAY_SPANS.clear()
    for days in order:
        made = WorkCalendar(loaded.plant, loaded.scenario, days)
        assert np.array_equal(made.work, expected[days].work)
        assert np.array_equal(made.work_before, expected[days].work_before)
        assert made.total_work_s == expected[days].total_work_s
        assert made.horizon_s == days * 86_400.0


def test_calendars_do_not_share_their_arrays(loaded: LoadedScenario) -> None:
    first = WorkCalendar(loaded.plant, loaded.scenario, 60)
    first.work[:] = -1.0
    first.work_before[:] = -1.0
    again = WorkCalendar(loaded.plant, loaded.scenario, 60)
    assert np.array_equal(again.work, _fresh(loaded, 60).work)
    assert again.work_before[-1] > 0


def test_a_pattern_without_work_is_refused_every_time(loaded: LoadedScenario) -> None:
    late = loaded.scenario.shift_pattern[0].model_copy(
        update={"start": loaded.scenario.ramp[-1].start}
    )
    scenario = loaded.scenario.model_copy(update={"shift_pattern": (late,)})
    for _ in range(2):
        with pytest.raises(LinespeedError) as raised:
            WorkCalendar(loaded.plant, scenario, 3)
        assert raised.value.code == "scenario.no_work"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 60), st.integers(0, 15)).map(lambda s: (s[0], s[0] + s[1])),
        max_size=30,
    )
)
def test_merge_joins_touching_and_overlapping_intervals(spans: list[tuple[int, int]]) -> None:
    array = np.array(spans, dtype=np.float64).reshape(-1, 2)
    ordered = array[np.lexsort((array[:, 1], array[:, 0]))]
    assert np.array_equal(calendar_module._merge(ordered), _merge_by_loop(ordered))
    halves = np.array_split(array, 2)
    assert np.array_equal(merge_intervals(*halves), _merge_by_loop(ordered))


def test_to_wall_is_the_search_it_replaces(loaded: LoadedScenario) -> None:
    calendar = WorkCalendar(loaded.plant, loaded.scenario, 500)
    rng = np.random.default_rng(5)
    total = calendar.total_work_s
    edges = calendar.work_before
    for work_s in [
        np.sort(rng.uniform(-100.0, total * 1.2, 20_000)),  # sorted, some outside
        rng.uniform(-1e5, total * 1.5, 2_000),  # unsorted
        np.concatenate((edges, edges[::-1], edges - 0.5)),  # exactly on the edges
        np.array([np.nan, 0.0, -0.0, -1.0, total, total + 1.0, np.inf, -np.inf, 3.0]),
        np.empty(0),
    ]:
        assert np.array_equal(
            calendar.to_wall(work_s), _to_wall_by_search(calendar, work_s), equal_nan=True
        )
    grid = np.linspace(0.0, total, 12).reshape(3, 4)
    assert np.array_equal(calendar.to_wall(grid), _to_wall_by_search(calendar, grid))
