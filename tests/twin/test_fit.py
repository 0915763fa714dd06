"""The twin's fits on data drawn from known models: what went in comes back out."""

from __future__ import annotations

import math

import numpy as np
import pytest

from linespeed.twin.fit import FailureFit, RateFit, estimate_failures, fit_learning


def visits(
    mean_s: float, factor: float, halflife: float, cv: float, days: int, per_day: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Work times drawn as the simulator draws them: lognormal around the learning curve."""
    rng = np.random.default_rng(seed)
    day = np.repeat(np.arange(days, dtype=float), per_day) + rng.random(days * per_day)
    mean = mean_s * (1 + (factor - 1) * 0.5 ** (day / halflife))
    sigma = math.sqrt(math.log1p(cv**2))
    work = mean * np.exp(sigma * rng.standard_normal(len(day)) - sigma**2 / 2)
    return day, work


def test_a_learning_curve_towards_the_standard_is_recovered() -> None:
    day, work = visits(74.0, 1.6, 60.0, 0.06, days=60, per_day=60, seed=1)
    fit = fit_learning(day, work, standard_s=74.0)
    assert fit is not None
    assert not fit.mean_from_data and fit.mean_s == 74.0
    assert fit.start_factor == pytest.approx(1.6, abs=0.05)
    assert fit.halflife_days == pytest.approx(60.0, rel=0.15)
    assert fit.cv == pytest.approx(0.06, rel=0.1)
    assert fit.visits == 3600 and fit.days == 60 and fit.r2 > 0.9
    assert 0 < fit.se_start_factor < 0.1 and 0 < fit.se_halflife_days < 20


def test_a_settled_station_slower_than_its_standard_gets_its_own_mean() -> None:
    day, work = visits(80.0, 1.0, 60.0, 0.04, days=40, per_day=80, seed=2)
    fit = fit_learning(day, work, standard_s=72.0)
    assert fit is not None
    assert fit.mean_from_data and fit.start_factor == 1.0
    assert fit.mean_s == pytest.approx(80.0, rel=0.01)
    assert fit.se_mean_s > 0


def test_a_station_at_its_standard_keeps_it() -> None:
    day, work = visits(72.0, 1.0, 60.0, 0.04, days=40, per_day=80, seed=3)
    fit = fit_learning(day, work, standard_s=72.0)
    assert fit is not None and not fit.mean_from_data and fit.mean_s == 72.0


def test_too_few_visits_a_day_fit_nothing() -> None:
    day = np.array([0.1, 1.2, 2.3, 3.4])
    assert fit_learning(day, np.full(4, 70.0), standard_s=70.0) is None


def test_two_busy_days_are_too_few_to_know_the_error() -> None:
    day, work = visits(70.0, 1.2, 30.0, 0.04, days=2, per_day=200, seed=6)
    assert fit_learning(day, work, standard_s=70.0) is None
    day, work = visits(70.0, 1.2, 30.0, 0.04, days=3, per_day=200, seed=6)
    fit = fit_learning(day, work, standard_s=70.0)
    assert fit is not None and fit.days == 3


def test_bad_work_times_are_left_out() -> None:
    day, work = visits(70.0, 1.0, 60.0, 0.04, days=10, per_day=30, seed=4)
    work[:5] = [np.nan, -1.0, 0.0, np.inf, np.nan]
    fit = fit_learning(day, work, standard_s=70.0)
    assert fit is not None and fit.visits == 295


def test_stations_that_fail_alike_are_pooled_and_an_outlier_stands_alone() -> None:
    rng = np.random.default_rng(5)
    seen = {f"s{k:02d}": FailureFit(int(rng.poisson(340 / 50)), 340.0, 0.0) for k in range(40)}
    seen = {k: FailureFit(f.failures, f.operating_h, f.failures * 8 / 60) for k, f in seen.items()}
    seen["ga-140"] = FailureFit(28, 330.0, 28 * 20 / 60)
    line, own = estimate_failures(seen)
    assert line is not None and list(own) == ["ga-140"]
    assert line.mtbf_h == pytest.approx(50.0, rel=0.2)
    assert line.mttr_min == pytest.approx(8.0)
    assert own["ga-140"].mtbf_h == pytest.approx(330 / 28)
    assert own["ga-140"].mttr_min == pytest.approx(20.0)
    assert own["ga-140"].se_mtbf_h == pytest.approx(330 / 28 / math.sqrt(28))


def test_no_failures_no_estimate() -> None:
    assert estimate_failures({"a": FailureFit(0, 100.0, 0.0)}) == (None, {})
    assert estimate_failures({}) == (None, {})


def test_rates() -> None:
    rate = RateFit(20, 1000)
    assert rate.p == 0.02 and rate.se == pytest.approx(math.sqrt(0.02 * 0.98 / 1000))
    assert RateFit(0, 0).p == 0.0 and RateFit(0, 0).se == 0.0
