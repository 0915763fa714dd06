"""The fits of a twin: work time with its learning curve, failures, rates; pure numbers.

Work time with learning (the simulator's model, `sim.plan`): a station's mean work time on
day t after start of production is `mean_s * (1 + (start_factor - 1) * 0.5 ** (t /
halflife_days))`, lognormal around it with coefficient of variation `cv`.

- `cv`: from the spread of log work times around each day's median (median absolute
  deviation, so stray long cycles do not count), `sigma = 1.4826 * MAD`.
- The curve: fitted by weighted least squares (weights: visits per day) to each day's mean
  work time, estimated as the day's median times `exp(sigma**2 / 2)` (lognormal). Three
  curves are tried: the plant's `cycle_s` (the engineered work time) as the mean, without
  and with learning towards it, and a flat mean of its own (a station done learning); the
  lowest AIC wins, and the flat mean of its own only where it also lies more than
  SETTLED_SE (bootstrap) standard errors from `cycle_s`. An asymptote is never extrapolated
  from a curve still falling: within a window it cannot be told from a longer half-life,
  and a forecast rests on it.
- A car's day on the curve: the day the stored plan would have started it (its number in
  the plan's cumulative quantities), as the simulator releases cars by the plan, so days
  the line stood starved do not count as learning; past the plan, the day it started.
  Half-lives are searched over 1 to 1,000 days.
- Standard errors of `mean_s`, `start_factor` and `halflife_days`: the spread of the same
  fit on days resampled with replacement (bootstrap, `BOOTSTRAP` resamples).
- Failures: MTBF = operating time (planned busy time less down time) / failures, MTTR =
  down time (working hours only) / failures, pooled over the stations that fail alike
  (`estimate_failures`); both exponential, so each standard error is the value /
  sqrt(failures behind it).
- A rate k of n: k / n, standard error sqrt(p (1 - p) / n).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy import stats  # type: ignore[import-untyped]

Floats = NDArray[np.float64]

BOOTSTRAP: Final = 40
OWN_RATE_P: Final = 0.01
"""A station's failures this unlikely under the pooled rate give it a rate of its own."""
SETTLED_SE: Final = 3.0
"""A free mean must lie this many standard errors from the standard to replace it."""
MIN_VISITS_PER_DAY: Final = 3
MIN_DAYS: Final = 3
"""Days with MIN_VISITS_PER_DAY visits a station needs: fewer leave no error to estimate."""
"""Days with fewer visits than this do not enter the curve (their median says little)."""
_HALFLIVES: Final = np.geomspace(1.0, 1000.0, 96)
_MAX_EXTRA: Final = 9.0
"""start_factor is at most 10 (the scenario's limit)."""


@dataclass(frozen=True)
class LearningFit:
    """A station's fitted work time: mean, spread, learning curve, and how well they fit."""

    mean_s: float
    cv: float
    start_factor: float
    halflife_days: float
    mean_from_data: bool
    """False: `mean_s` is the plant's cycle_s (the data did not settle it better)."""
    visits: int
    days: int
    r2: float
    """R² of the curve against the days' mean work times (weighted); nan with one day."""
    se_mean_s: float
    se_start_factor: float
    se_halflife_days: float


@dataclass(frozen=True)
class _Curve:
    mean_s: float
    extra: float
    halflife: float
    sse: float
    parameters: int
    from_data: bool


def fit_learning(day: Floats, work_s: Floats, standard_s: float) -> LearningFit | None:
    """The work-time model of one station from its visits (`day`: days since start of
    production, `work_s`: seconds worked); None if fewer than MIN_DAYS days have
    MIN_VISITS_PER_DAY visits (a curve, and its standard errors, need days to differ)."""
    keep = np.isfinite(work_s) & (work_s > 0) & np.isfinite(day)
    day, work_s = day[keep], work_s[keep]
    whole = np.floor(day).astype(np.int64)
    order = np.argsort(whole, kind="stable")
    whole, day, work_s = whole[order], day[order], work_s[order]
    days, first, counts = np.unique(whole, return_index=True, return_counts=True)
    logs = np.log(work_s)
    medians = np.array([np.median(logs[a : a + n]) for a, n in zip(first, counts, strict=True)])
    deviation = np.abs(logs - np.repeat(medians, counts))
    sigma = 1.4826 * float(np.median(deviation)) if len(deviation) else 0.0
    cv = math.sqrt(math.expm1(sigma**2))
    enough = counts >= MIN_VISITS_PER_DAY
    if np.count_nonzero(enough) < MIN_DAYS:
        return None
    t = np.array(
        [np.mean(day[a : a + n]) for a, n in zip(first[enough], counts[enough], strict=True)]
    )
    y = np.exp(medians[enough]) * math.exp(sigma**2 / 2.0)
    w = counts[enough].astype(np.float64)
    best = _best_curve(t, y, w, standard_s)
    total = float(np.sum(w * (y - np.average(y, weights=w)) ** 2))
    r2 = 1.0 - best.sse / total if len(y) > 1 and total > 0 else math.nan
    se = _bootstrap(t, y, w, standard_s, best)
    return LearningFit(
        mean_s=best.mean_s,
        cv=cv,
        start_factor=1.0 + best.extra,
        halflife_days=best.halflife,
        mean_from_data=best.from_data,
        visits=len(work_s),
        days=len(days),
        r2=r2,
        se_mean_s=se[0],
        se_start_factor=se[1],
        se_halflife_days=se[2],
    )


def _best_curve(t: Floats, y: Floats, w: Floats, standard_s: float, *, test: bool = True) -> _Curve:
    """The curve of lowest AIC among three: the standard flat, the standard with learning,
    a flat free mean; the free mean only where it also lies more than SETTLED_SE standard
    errors from the standard (`test`: the bootstrap's). An asymptote is not extrapolated
    from a curve still falling: a window is too short to tell it from a longer half-life."""
    n = len(y)
    held = [_Curve(standard_s, 0.0, 60.0, float(np.sum(w * (y - standard_s) ** 2)), 0, False)]
    free = [_flat(y, w)]
    if n >= 3:
        held.append(_learning(t, y, w, standard_s))

    def aic(curve: _Curve) -> float:
        return n * math.log(max(curve.sse / n, 1e-300)) + 2 * curve.parameters

    best_held, best_free = min(held, key=aic), min(free, key=aic)
    if aic(best_held) <= aic(best_free):
        return best_held
    if test and n >= 3:
        spread = _bootstrap(t, y, w, standard_s, best_free)[0]
        if abs(best_free.mean_s - standard_s) <= SETTLED_SE * spread:
            return best_held
    return best_free


def _flat(y: Floats, w: Floats) -> _Curve:
    mean = float(np.average(y, weights=w))
    return _Curve(mean, 0.0, 60.0, float(np.sum(w * (y - mean) ** 2)), 1, True)


def _learning(t: Floats, y: Floats, w: Floats, standard_s: float | None) -> _Curve:
    """Least squares over the half-life grid: y = a (1 + c g) with g = 0.5 ** (t / h)."""
    g = np.power(0.5, t[None, :] / _HALFLIVES[:, None])  # (H x n)
    if standard_s is not None:
        a = np.full(len(_HALFLIVES), standard_s)
        c = np.sum(w * g * (y / standard_s - 1.0), axis=1) / np.maximum(
            np.sum(w * g * g, axis=1), 1e-300
        )
    else:
        sw, sg, sy = w.sum(), np.sum(w * g, axis=1), np.sum(w * y)
        sgg, sgy = np.sum(w * g * g, axis=1), np.sum(w * g * y, axis=1)
        det = sw * sgg - sg * sg
        safe = np.where(np.abs(det) > 1e-12, det, np.inf)
        a = (sgg * sy - sg * sgy) / safe
        b = (sw * sgy - sg * sy) / safe
        a = np.where(np.isfinite(safe), a, np.average(y, weights=w))
        c = np.where(a > 0, b / np.where(a > 0, a, 1.0), 0.0)
    c = np.clip(c, 0.0, _MAX_EXTRA)
    a = np.maximum(a, 1e-9)
    sse = np.sum(w * (y[None, :] - a[:, None] * (1.0 + c[:, None] * g)) ** 2, axis=1)
    k = int(np.argmin(sse))
    return _Curve(
        float(a[k]),
        float(c[k]),
        float(_HALFLIVES[k]),
        float(sse[k]),
        2 if standard_s is not None else 3,
        standard_s is None,
    )


def _bootstrap(
    t: Floats, y: Floats, w: Floats, standard_s: float, curve: _Curve
) -> tuple[float, float, float]:
    """Standard errors of (mean_s, start_factor, halflife) of `curve`'s kind of curve (mean
    free or held, learning or none), refitted to the days resampled."""
    if len(y) < 3:
        return 0.0, 0.0, 0.0
    rng = np.random.default_rng(len(y))  # fixed: the same data give the same file
    learning = curve.parameters in (2, 3)
    draws = []
    for _ in range(BOOTSTRAP):
        pick = rng.integers(0, len(y), len(y))
        tp, yp, wp = t[pick], y[pick], w[pick]
        if learning:
            again = _learning(tp, yp, wp, None if curve.from_data else standard_s)
        elif curve.from_data:
            again = _flat(yp, wp)
        else:
            again = curve
        draws.append((again.mean_s, 1.0 + again.extra, again.halflife))
    spread = np.std(np.array(draws), axis=0, ddof=1)
    return float(spread[0]), float(spread[1]), float(spread[2])


@dataclass(frozen=True)
class FailureFit:
    """A station's failures in a window: how many, in how many operating and repair hours."""

    failures: int
    operating_h: float
    repair_h: float


@dataclass(frozen=True)
class FailureEstimate:
    """MTBF and MTTR with their standard errors, and the observations behind them."""

    mtbf_h: float
    mttr_min: float
    se_mtbf_h: float
    se_mttr_min: float
    seen: FailureFit


def estimate_failures(
    seen: dict[str, FailureFit],
) -> tuple[FailureEstimate | None, dict[str, FailureEstimate]]:
    """The failures of the stations that fail alike, pooled (the line's `default`), and each
    station's own where its count is unlikely under that rate; (None, {}) if none failed.

    A station's own estimate rests on a handful of failures; pooling the stations that
    differ only by chance says more. A station stands alone where its failures are
    unlikely under the pooled rate (two-sided Poisson test, p < OWN_RATE_P), repeated until
    no more leave the pool.
    """
    pool = {station: fit for station, fit in seen.items() if fit.operating_h > 0}
    while True:
        total_k = sum(fit.failures for fit in pool.values())
        total_t = sum(fit.operating_h for fit in pool.values())
        if not total_k or total_t <= 0:
            break
        rate = total_k / total_t
        leaving = {
            station
            for station, fit in pool.items()
            if _poisson_p(fit.failures, rate * fit.operating_h) < OWN_RATE_P
        }
        if not leaving:
            break
        pool = {station: fit for station, fit in pool.items() if station not in leaving}
    pooled = FailureFit(
        sum(fit.failures for fit in pool.values()),
        sum(fit.operating_h for fit in pool.values()),
        sum(fit.repair_h for fit in pool.values()),
    )
    own = {
        station: found
        for station, fit in seen.items()
        if station not in pool
        for found in [_estimate(fit)]
        if found is not None
    }
    return _estimate(pooled), own


def _estimate(fit: FailureFit) -> FailureEstimate | None:
    if not fit.failures or fit.operating_h <= 0:
        return None
    mtbf = fit.operating_h / fit.failures
    mttr = fit.repair_h * 60.0 / fit.failures
    root = math.sqrt(fit.failures)
    return FailureEstimate(mtbf, mttr, mtbf / root, mttr / root, fit)


def _poisson_p(count: int, expected: float) -> float:
    """Two-sided p-value of `count` events where `expected` were expected."""
    low = float(stats.poisson.cdf(count, expected))
    high = float(stats.poisson.sf(count - 1, expected))
    return min(1.0, 2.0 * min(low, high))


@dataclass(frozen=True)
class RateFit:
    """k of n: a share with its standard error."""

    hits: int
    total: int

    @property
    def p(self) -> float:
        """k / n (0 when n is 0)."""
        return self.hits / self.total if self.total else 0.0

    @property
    def se(self) -> float:
        """Binomial standard error."""
        return math.sqrt(self.p * (1.0 - self.p) / self.total) if self.total else 0.0
