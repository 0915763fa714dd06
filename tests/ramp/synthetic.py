"""Synthetic ramp curves with known parameters, for the fit and forecast tests."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]
ORIGIN = date(2024, 1, 1)


def logistic(days: Floats, k: float, t_mid: float, s: float) -> Floats:
    """K / (1 + exp(-(t - t_mid) / s))."""
    result: Floats = k / (1 + np.exp(-(days - t_mid) / s))
    return result


def capacity(days: Floats, c: float, t0: float, tau: float) -> Floats:
    """The integral of c (1 - exp(-(t - t0) / tau)) from t0."""
    x = np.maximum(days - t0, 0.0)
    result: Floats = c * (x - tau * (1 - np.exp(-x / tau)))
    return result


def noisy(counts: Floats, seed: int, cv: float = 0.03) -> Floats:
    """The curve with each increment scaled by lognormal noise (coefficient of variation cv)."""
    rng = np.random.default_rng(seed)
    increments = np.diff(counts, prepend=0.0) * rng.lognormal(0.0, cv, len(counts))
    result: Floats = np.cumsum(increments)
    return result


def pairs(days: Floats, counts: Floats) -> list[tuple[date, float]]:
    """(day, cumulative) pairs from day numbers since ORIGIN."""
    return [(ORIGIN + timedelta(days=int(d)), float(c)) for d, c in zip(days, counts, strict=True)]


def day_of(t: float) -> date:
    """The first whole day on which a crossing at day number t has happened."""
    return ORIGIN + timedelta(days=math.ceil(t))
