"""The car plan: each random process its own stream, the same numbers however they are drawn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.typing import NDArray

from linespeed.plant.model import Line
from linespeed.sim import plan as plan_module
from linespeed.sim.calendar import WorkCalendar
from linespeed.sim.plan import CarPlan, plan_cars, planned_cars, stream
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, LoadedScenario, load_scenario

Floats = NDArray[np.float64]
CARS = 3000


@pytest.fixture(scope="module")
def loaded() -> LoadedScenario:
    """The default scenario with some scrap, so some cars leave the line early."""
    loaded = load_scenario(DEFAULT_SCENARIO_PATH)
    scenario = loaded.scenario.model_copy(
        update={"scrap": loaded.scenario.scrap.model_copy(update={"p": 0.02})}
    )
    return LoadedScenario(scenario=scenario, plant=loaded.plant, source=loaded.source)


def _line(loaded: LoadedScenario) -> Line:
    return loaded.plant.lines_by_id[loaded.scenario.line or loaded.plant.lines[0].id]


def _plan(loaded: LoadedScenario, cars: int = CARS) -> CarPlan:
    calendar = WorkCalendar(loaded.plant, loaded.scenario, 120)
    return plan_cars(loaded.plant, _line(loaded), loaded.scenario, calendar, cars)


def _process_by_numpy(loaded: LoadedScenario, plan: CarPlan) -> Floats:
    """The reference: each station's work times drawn and computed by numpy alone."""
    scenario, line = loaded.scenario, _line(loaded)
    days = plan.release_s / 86_400.0
    process = np.empty((len(days), len(line.stations)))
    for index, station in enumerate(line.stations):
        setting = scenario.cycle_time.stations.get(station.id, scenario.cycle_time.default)
        mean = (setting.mean_s or station.cycle_s) * (
            1.0 + (setting.start_factor - 1.0) * np.power(0.5, days / setting.halflife_days)
        )
        sigma = math.sqrt(math.log1p(setting.cv**2))
        normal = stream(scenario.seed, f"cycle:{station.id}").standard_normal(len(days))
        process[:, index] = mean * np.exp(sigma * normal - sigma**2 / 2.0)
        if station.optional:
            process[:, index] = 0.0
    for car in np.flatnonzero(plan.scrap_at >= 0):
        process[car, plan.scrap_at[car] + 1 :] = 0.0
    return process


def test_work_times_are_numpys_numbers(loaded: LoadedScenario) -> None:
    plan = _plan(loaded)
    assert plan.process_s.flags.c_contiguous
    assert np.array_equal(plan.process_s, _process_by_numpy(loaded, plan))
    assert np.any(plan.scrap_at >= 0)


@pytest.mark.parametrize("name", ["cycle:ga-140", "cycle:body-050", "other"])
def test_scaled_normals_are_numpys_normals(name: str) -> None:
    for seed in (0, 1, 20240301):
        expected = stream(seed, name).standard_normal(50_000) * 0.04 - 0.0008
        drawn = plan_module._scaled_normals(stream(seed, name), np.empty(50_000), 0.04, 0.0008)
        assert np.array_equal(drawn, expected)
        plain = plan_module._scaled_normals(stream(seed, name), np.empty(7), 1.0, 0.0)
        assert np.array_equal(plain, stream(seed, name).standard_normal(7))


def test_cycle_times_the_same_with_kept_factors(loaded: LoadedScenario) -> None:
    days = np.linspace(0.0, 300.0, 1000)
    setting = loaded.scenario.cycle_time.default
    alone = plan_module._cycle_times(stream(1, "a"), setting, 60.0, days)
    slower: dict[tuple[float, float], Floats] = {}
    out = np.empty(1000)
    first = plan_module._cycle_times(stream(1, "a"), setting, 60.0, days, out=out, slower=slower)
    again = plan_module._cycle_times(stream(1, "a"), setting, 60.0, days, slower=slower)
    assert first is out
    assert len(slower) == 1
    assert np.array_equal(alone, first) and np.array_equal(alone, again)


def test_event_only_draws_are_made_when_read_and_the_same_in_any_order(
    loaded: LoadedScenario,
) -> None:
    one, other = _plan(loaded), _plan(loaded)
    assert "failed" not in vars(one) and "color" not in vars(one)  # not drawn yet
    first = (one.color, one.failed, one.ship_delay_s)
    second = (other.ship_delay_s, other.failed, other.color)[::-1]
    for mine, theirs in zip(first, second, strict=True):
        assert np.array_equal(mine, theirs)
    assert one.failed is one.failed  # drawn once
    seed = loaded.scenario.seed
    assert np.array_equal(
        one.ship_delay_s,
        stream(seed, "shipping").exponential(loaded.scenario.shipping.delay_h * 3600.0, CARS),
    )
    assert one.failed.shape == (CARS, len(one.checks))
    assert one.failed.any()
    assert one.color.shape == (CARS,) and one.color.dtype == np.int64


def test_changing_the_mix_leaves_the_work_times(loaded: LoadedScenario) -> None:
    mix = loaded.scenario.mix.model_copy(update={"models": {"s7": 0.2, "x9": 0.8}})
    changed = LoadedScenario(
        scenario=loaded.scenario.model_copy(update={"mix": mix}),
        plant=loaded.plant,
        source=loaded.source,
    )
    base, other = _plan(loaded), _plan(changed)
    assert np.array_equal(base.process_s, other.process_s)
    assert not np.array_equal(base.model, other.model)


def test_planned_models_begin_with_the_plans(loaded: LoadedScenario) -> None:
    calendar = WorkCalendar(loaded.plant, loaded.scenario, 120)
    plan = plan_cars(loaded.plant, _line(loaded), loaded.scenario, calendar, CARS)
    release, model = planned_cars(loaded.plant, loaded.scenario, calendar, CARS)
    assert len(model) >= CARS
    assert np.array_equal(model[:CARS], plan.model)
    assert np.array_equal(release[:CARS], plan.release_s)
