"""Reference ramps shipped with linespeed: public production and delivery figures, and a pace.

The data is `data/reference_ramps.csv`, one row per point with its source URL and confidence:
Tesla Model 3 production (quarterly, Q3 2017 - Q4 2019), Xiaomi SU7 deliveries (quarterly and
milestones, 2024-2025) and its 100,000th car produced, and the synthetic 300,000-in-15-months
pace. Every series carries its metric: production and deliveries are different series.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Final, cast

from linespeed.errors import NotFoundError
from linespeed.ramp.series import Metric, RampPoint, RampSeries, check_points

DATA_FILE: Final = "reference_ramps.csv"
COLUMNS: Final = (
    "program", "label", "metric", "kind", "date", "period_start", "quantity", "cumulative",
    "confidence", "source", "note",
)  # fmt: skip
SOURCE: Final = "linespeed reference data (ramp/data/reference_ramps.csv)"


def reference_rows() -> list[dict[str, str]]:
    """Every row of the reference data, as text, in file order."""
    return [dict(row) for row in _rows()]


def reference_names() -> list[str]:
    """The names of the reference programs, in the order of the data file."""
    return list(dict.fromkeys(row["program"] for row in _rows()))


def reference_metrics(name: str) -> list[Metric]:
    """The metrics a reference program has series for; the first, with most points, is its default.

    Raises NotFoundError if `name` is not a reference program.
    """
    metrics = [cast(Metric, row["metric"]) for row in _program_rows(name)]
    return sorted(dict.fromkeys(metrics), key=lambda metric: -metrics.count(metric))


def reference_series(name: str, metric: Metric | None = None) -> RampSeries:
    """The reference series of program `name` for `metric` (default: the one with most points).

    Its points are the rows of that metric sorted by date: the zero point at the start of
    production (or at the launch, for deliveries), quarter ends and milestones. `sop` is the
    program's start of production.

    Raises NotFoundError if `name` is not a reference program or has no series for `metric`.
    """
    rows = _program_rows(name)
    metrics = reference_metrics(name)
    chosen = metric or metrics[0]
    if chosen not in metrics:
        raise NotFoundError(
            f"reference {name!r} has no {chosen!r} series (it has: {', '.join(metrics)})"
        )
    starts = [row for row in rows if row["kind"] == "start-of-production"]
    sop = date.fromisoformat(starts[0]["date"]) if starts else None
    points = tuple(
        sorted(
            (
                RampPoint(
                    date.fromisoformat(row["date"]),
                    float(row["cumulative"]),
                    row["source"],
                    row["confidence"],
                    row["kind"],
                )
                for row in rows
                if row["metric"] == chosen
            ),
            key=lambda point: point.day,
        )
    )
    check_points([(point.day, point.cumulative) for point in points], f"{SOURCE} {name}")
    notes = sorted({row["note"] for row in rows if row["kind"] == "start-of-production"} - {""})
    return RampSeries(name, rows[0]["label"], chosen, sop, points, SOURCE, "; ".join(notes))


@dataclass(frozen=True)
class ReferenceCurve:
    """A reference ramp as days since its start of production against cumulative cars."""

    name: str
    legend: str
    metric: str
    days: list[tuple[int, float]]


def reference_curves(names: Sequence[str]) -> list[ReferenceCurve]:
    """Reference ramps as (days since start of production, cumulative) for charts.

    Raises NotFoundError naming an unknown reference.
    """
    curves: list[ReferenceCurve] = []
    for name in names:
        series = reference_series(name)
        start = series.start
        curves.append(
            ReferenceCurve(
                name=series.name,
                legend=series.legend,
                metric=series.metric,
                days=[((day - start).days, count) for day, count in series.pairs()],
            )
        )
    return curves


def _program_rows(name: str) -> list[dict[str, str]]:
    """The rows of one program. Raises NotFoundError if there are none."""
    rows = [row for row in _rows() if row["program"] == name]
    if not rows:
        raise NotFoundError(
            f"unknown reference ramp {name!r}: known are {', '.join(reference_names())}"
        )
    return rows


@cache
def _rows() -> tuple[dict[str, str], ...]:
    """The rows of the data file (read once)."""
    text = resources.files("linespeed.ramp").joinpath("data", DATA_FILE).read_text("utf-8")
    return tuple(csv.DictReader(io.StringIO(text)))
