"""Ramp models fitted to a cumulative curve, and the choice between them on held-out points.

Two models of the cumulative count N(t), t in days since an origin:

- `logistic`: N(t) = K / (1 + exp(-(t - t_mid) / s)); an S-curve that levels off at K cars.
- `capacity` (learning curve to a capacity): the daily rate climbs towards a capacity c,
  r(t) = c (1 - exp(-(t - t0) / tau)) for t >= t0 and 0 before; N(t) is its integral,
  c ((t - t0) - tau (1 - exp(-(t - t0) / tau))). It never levels off: it ends at c per day.

Each is fitted by least squares on the cumulative points (`scipy.optimize.least_squares`,
several starts, residuals in units of the last cumulative count). The scale parameter (K or
c) enters linearly, so it is solved exactly for each trial shape (variable projection).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

import numpy as np
from scipy.optimize import least_squares  # type: ignore[import-untyped]
from scipy.special import expit  # type: ignore[import-untyped]

from linespeed.ramp.curve import Floats
from linespeed.ramp.errors import RampForecastError

ModelName: TypeAlias = Literal["logistic", "capacity"]
MODELS: Final[tuple[ModelName, ...]] = ("logistic", "capacity")
"""The models, in the order they are tried (a tie goes to the first)."""

MIN_FIT_POINTS: Final = 4
"""Points needed to fit a 3-parameter model with one to spare."""

HOLDOUT_FRACTION: Final = 0.25
"""The model is chosen on the points in the last quarter of the series' time span."""

Param: TypeAlias = Floats | float
Shape = Callable[[Param, Param, Floats], Floats]
"""shape(first, second, days): broadcasts, so a grid of shapes is evaluated at once."""

GRID_SIZE: Final = 24
"""Grid points per shape parameter in the global search before the least-squares polish."""


def _logistic_shape(t_mid: Param, log_s: Param, days: Floats) -> Floats:
    """The logistic curve of height 1: shape parameters (t_mid, log s)."""
    result: Floats = expit((days - t_mid) / np.exp(log_s))
    return result


def _capacity_shape(t0: Param, log_tau: Param, days: Floats) -> Floats:
    """The integral of a rate climbing to 1 per day: shape parameters (t0, log tau)."""
    tau = np.exp(log_tau)
    u = np.maximum(days - t0, 0.0) / tau
    # u - (1 - exp(-u)) loses every digit for small u: use its series there.
    exact = u + np.expm1(-u)
    series = u * u / 2 - u * u * u / 6
    result: Floats = tau * np.where(u < 1e-4, series, exact)
    return result


_SHAPES: Final[dict[ModelName, Shape]] = {
    "logistic": _logistic_shape,
    "capacity": _capacity_shape,
}


@dataclass(frozen=True)
class FittedModel:
    """A model fitted to a curve: evaluate it with `value`, read its parameters with `params`.

    `scale` is K (cars) for the logistic and c (cars per day) for the capacity model; `shape`
    holds (t_mid, log s) or (t0, log tau), days counted from the fit's origin.
    """

    model: ModelName
    scale: float
    shape: tuple[float, float]
    rms_error: float
    n_points: int

    def value(self, days: Floats | float) -> Floats:
        """The model's cumulative count at `days` (days since the origin of the fit)."""
        array = np.atleast_1d(np.asarray(days, dtype=np.float64))
        first, second = self.shape
        result: Floats = self.scale * _SHAPES[self.model](first, second, array)
        return result

    def params(self) -> dict[str, float]:
        """The parameters by name: K, t_mid, s (logistic) or c, t0, tau (capacity)."""
        first, second = self.shape
        if self.model == "logistic":
            return {"K": self.scale, "t_mid": first, "s": math.exp(second)}
        return {"c": self.scale, "t0": first, "tau": math.exp(second)}

    @property
    def plateau(self) -> float | None:
        """The count the model levels off at (K), or None if it grows for ever."""
        return self.scale if self.model == "logistic" else None


@dataclass(frozen=True)
class Selection:
    """Which model was chosen, on how many held-out points, and each model's error (cars)."""

    model: ModelName
    held_out: int
    errors: dict[ModelName, float]


def _bounds(model: ModelName, days: Floats) -> tuple[list[float], list[float]]:
    """Bounds of the shape parameters: centre or start within a few spans, widths 1 day up."""
    first, last = float(days[0]), float(days[-1])
    span = max(last - first, 1.0)
    log_high = math.log(1000 * span)
    if model == "logistic":
        return [first - 5 * span, 0.0], [last + 10 * span, log_high]
    return [first - 5 * span, 0.0], [last - 1.0, log_high]


def fit_model(model: ModelName, days: Floats, counts: Floats) -> FittedModel:
    """Fit `model` to the cumulative `counts` at `days` (days since any origin, increasing).

    A grid search over the two shape parameters (the scale solved exactly for each) finds the
    start; `scipy.optimize.least_squares` polishes it within bounds. Raises RampForecastError
    (code `ramp.too_few_points`) if there are fewer than MIN_FIT_POINTS points.
    """
    if len(days) < MIN_FIT_POINTS:
        raise RampForecastError(
            f"fitting the {model} model needs at least {MIN_FIT_POINTS} points, got {len(days)}",
            code="ramp.too_few_points",
            target=math.nan,
        )
    shape_of = _SHAPES[model]
    unit = max(float(counts[-1]), 1.0)
    lower, upper = _bounds(model, days)

    # Global search: every (first, second) pair of the grid at once, shape (grid, grid, n).
    firsts = np.linspace(lower[0], upper[0], GRID_SIZE)[:, None, None]
    seconds = np.linspace(lower[1], upper[1], GRID_SIZE)[None, :, None]
    curves = shape_of(firsts, seconds, days[None, None, :])
    scales = _scales(curves, counts)
    costs = np.sum((scales[..., None] * curves - counts) ** 2, axis=-1)
    row, column = np.unravel_index(int(np.argmin(costs)), costs.shape)
    start = np.array([firsts[row, 0, 0], seconds[0, column, 0]])

    def residuals(shape: Floats) -> Floats:
        curve = shape_of(shape[0], shape[1], days)
        result: Floats = (float(_scales(curve, counts)) * curve - counts) / unit
        return result

    eps = 1e-9 * (np.abs(np.array(upper)) + 1.0)
    start = np.clip(start, np.array(lower) + eps, np.array(upper) - eps)
    best = np.asarray(
        least_squares(residuals, start, bounds=(lower, upper), method="trf").x,
        dtype=np.float64,
    )
    curve = shape_of(best[0], best[1], days)
    scale = float(_scales(curve, counts))
    rms = float(np.sqrt(np.mean((scale * curve - counts) ** 2)))
    return FittedModel(model, scale, (float(best[0]), float(best[1])), rms, len(days))


def _scales(curves: Floats, counts: Floats) -> Floats:
    """The least-squares scale (>= 0) of each curve (last axis) against `counts`."""
    norms = np.sum(curves * curves, axis=-1)
    dots = np.sum(curves * counts, axis=-1)
    result: Floats = np.where(
        norms > 0, np.maximum(dots, 0.0) / np.where(norms > 0, norms, 1.0), 0.0
    )
    return result


def predict_from(fitted: FittedModel, day: float, count: float, days: Floats) -> Floats:
    """The counts at `days` predicted from the known `count` on `day`: count + model increase.

    Forecasts start from the last known count, not from the fitted curve, so a model that
    fits the past loosely still continues from where the series is.
    """
    result: Floats = count + fitted.value(days) - fitted.value(day)[0]
    return result


def holdout_size(days: Floats) -> int:
    """How many of the last points are held out to choose the model.

    The points in the last HOLDOUT_FRACTION of the time span, at least 1, leaving at least
    MIN_FIT_POINTS to fit.
    """
    span = float(days[-1] - days[0])
    recent = int(np.sum(days > days[-1] - HOLDOUT_FRACTION * span))
    return max(1, min(recent, len(days) - MIN_FIT_POINTS))


def choose_model(days: Floats, counts: Floats, models: tuple[ModelName, ...] = MODELS) -> Selection:
    """Choose the model that best predicts the most recent points from the ones before.

    Each model is fitted on all but the last k points (`holdout_size`) and predicts them from
    the last kept point (`predict_from`); the model with the smaller root-mean-square error
    in cars wins (a tie goes to the first model). Raises RampForecastError (code
    `ramp.too_few_points`) if there are fewer than MIN_FIT_POINTS + 1 points.
    """
    if len(days) < MIN_FIT_POINTS + 1:
        raise RampForecastError(
            f"choosing a model needs at least {MIN_FIT_POINTS + 1} points, got {len(days)}",
            code="ramp.too_few_points",
            target=math.nan,
        )
    held = holdout_size(days)
    kept = len(days) - held
    errors: dict[ModelName, float] = {}
    for model in models:
        fitted = fit_model(model, days[:kept], counts[:kept])
        predicted = predict_from(fitted, days[kept - 1], counts[kept - 1], days[kept:])
        errors[model] = float(np.sqrt(np.mean((predicted - counts[kept:]) ** 2)))
    chosen = min(models, key=lambda model: errors[model])
    return Selection(chosen, held, errors)
