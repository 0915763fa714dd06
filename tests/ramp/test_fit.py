"""Model fits recover known parameters; the held-out choice picks the model the data came from."""

from __future__ import annotations

import numpy as np
import pytest

from linespeed.ramp.errors import RampForecastError
from linespeed.ramp.fit import choose_model, fit_model, holdout_size, predict_from
from tests.ramp.synthetic import capacity, logistic, noisy

DAYS = np.arange(0.0, 421.0, 14.0)


def test_logistic_parameters_are_recovered() -> None:
    counts = logistic(DAYS, 250_000, 210, 45)
    fitted = fit_model("logistic", DAYS, counts)
    params = fitted.params()
    assert params["K"] == pytest.approx(250_000, rel=1e-3)
    assert params["t_mid"] == pytest.approx(210, abs=0.5)
    assert params["s"] == pytest.approx(45, rel=1e-3)
    assert fitted.plateau == pytest.approx(250_000, rel=1e-3)
    assert fitted.rms_error < 10


def test_capacity_parameters_are_recovered() -> None:
    counts = capacity(DAYS, 1_200, 15, 80)
    fitted = fit_model("capacity", DAYS, counts)
    params = fitted.params()
    assert params["c"] == pytest.approx(1_200, rel=1e-3)
    assert params["t0"] == pytest.approx(15, abs=0.5)
    assert params["tau"] == pytest.approx(80, rel=1e-2)
    assert fitted.plateau is None


def test_noisy_capacity_parameters_are_recovered_within_tolerance() -> None:
    counts = noisy(capacity(DAYS, 1_200, 15, 80), seed=1)
    params = fit_model("capacity", DAYS, counts).params()
    assert params["c"] == pytest.approx(1_200, rel=0.05)
    assert params["tau"] == pytest.approx(80, rel=0.25)


def test_a_fit_is_the_same_whatever_the_origin_of_days() -> None:
    counts = logistic(DAYS, 250_000, 210, 45)
    shifted = fit_model("logistic", DAYS + 1000, counts).params()
    assert shifted["t_mid"] == pytest.approx(1210, abs=0.5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_held_out_choice_picks_logistic_on_logistic_data(seed: int) -> None:
    counts = noisy(logistic(DAYS, 250_000, 210, 45), seed)
    selection = choose_model(DAYS, counts)
    assert selection.model == "logistic"
    assert selection.errors["logistic"] < selection.errors["capacity"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_held_out_choice_picks_capacity_on_capacity_data(seed: int) -> None:
    counts = noisy(capacity(DAYS, 1_200, 15, 80), seed)
    selection = choose_model(DAYS, counts)
    assert selection.model == "capacity"


def test_the_held_out_points_are_the_last_quarter_of_the_time_span() -> None:
    assert holdout_size(np.arange(0.0, 101.0, 10.0)) == 3  # days 80, 90, 100 are after 75
    assert holdout_size(np.array([0.0, 1, 2, 3, 100])) == 1
    assert holdout_size(np.array([0.0, 1, 2, 90, 95, 100])) == 2  # at least 4 left to fit


def test_predictions_start_from_the_last_known_count() -> None:
    fitted = fit_model("capacity", DAYS, capacity(DAYS, 1_200, 15, 80))
    predicted = predict_from(fitted, 420.0, 1_000.0, np.array([420.0, 430.0]))
    assert predicted[0] == pytest.approx(1_000.0)
    assert predicted[1] - predicted[0] == pytest.approx(
        float(fitted.value(430.0)[0] - fitted.value(420.0)[0])
    )


def test_too_few_points_to_fit_says_how_many_are_needed() -> None:
    with pytest.raises(RampForecastError, match="at least 4 points, got 3") as caught:
        fit_model("logistic", DAYS[:3], logistic(DAYS[:3], 1000, 10, 5))
    assert caught.value.code == "ramp.too_few_points"
    with pytest.raises(RampForecastError, match="at least 5 points, got 4"):
        choose_model(DAYS[:4], capacity(DAYS[:4], 10, 0, 5))
