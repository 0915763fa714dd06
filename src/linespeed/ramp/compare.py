"""Compare ramps aligned on start of production: days from SOP to each milestone, per series."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from linespeed.ramp.curve import crossing
from linespeed.ramp.series import METRIC_WORDS, Metric, RampSeries

DEFAULT_MILESTONES: Final = (10_000, 100_000, 200_000, 300_000)
MAX_GAP_DAYS: Final = 100
"""A milestone is interpolated only between points at most this far apart (about a quarter)."""
MIXED_METRICS_NOTE: Final = (
    "production and deliveries are different series: compare rows of the same metric "
    "(deliveries lag production and exclude cars in transit or stock)"
)


@dataclass(frozen=True)
class MilestoneReach:
    """When a series reached one milestone: the day, days since its start, and how it is known.

    `how` is "data point" (a point at exactly the milestone, or the first point at or above it
    when the curve starts there), "interpolated" (linearly between the two points around it),
    "between A and B" (the points around it are more than MAX_GAP_DAYS apart: `day` and
    `days` are None) or "not reached" (`day` and `days` are None).
    """

    milestone: int
    day: date | None
    days: int | None
    how: str


@dataclass(frozen=True)
class ComparisonRow:
    """One series in a comparison: its metric, its start, and its milestone days."""

    key: str
    label: str
    metric: Metric
    start: date
    aligned_on: str
    reaches: tuple[MilestoneReach, ...]

    @property
    def legend(self) -> str:
        """The label with its metric in words, e.g. "Tesla Model 3 (production)"."""
        return f"{self.label} ({METRIC_WORDS[self.metric]})"

    def days(self) -> dict[int, int | None]:
        """Days from the start to each milestone (None if not reached)."""
        return {reach.milestone: reach.days for reach in self.reaches}


@dataclass(frozen=True)
class RampComparison:
    """Days from start of production to each milestone, one row per series, metric marked."""

    milestones: tuple[int, ...]
    rows: tuple[ComparisonRow, ...]

    @property
    def mixed_metrics(self) -> bool:
        """True if the rows count different things (production beside deliveries)."""
        return len({row.metric for row in self.rows}) > 1

    @property
    def notes(self) -> list[str]:
        """What a reader must know: mixed metrics, series aligned on their first point."""
        notes = [MIXED_METRICS_NOTE] if self.mixed_metrics else []
        for row in self.rows:
            if row.aligned_on != "start of production":
                notes.append(f"{row.legend} has no start of production: aligned on its first point")
        return notes

    def to_json(self) -> dict[str, Any]:
        """The comparison as plain JSON data."""
        return {
            "milestones": list(self.milestones),
            "aligned_on": "start of production",
            "rows": [
                {
                    "series": row.key,
                    "label": row.label,
                    "metric": row.metric,
                    "start": row.start.isoformat(),
                    "aligned_on": row.aligned_on,
                    "milestones": [
                        {
                            "milestone": reach.milestone,
                            "date": None if reach.day is None else reach.day.isoformat(),
                            "days_from_start": reach.days,
                            "how": reach.how,
                        }
                        for reach in row.reaches
                    ],
                }
                for row in self.rows
            ],
            "notes": self.notes,
        }

    def to_text(self) -> str:
        """The comparison as a fixed-width table, its metric column and notes included."""
        label_width = max([len(row.label) for row in self.rows] + [6])
        head = f"{'series':{label_width}}  {'metric':11}  {'start':10}"
        head += "".join(f"  {milestone:>9,}" for milestone in self.milestones)
        lines = ["days from start of production to each milestone (~ interpolated)", head]
        for row in self.rows:
            line = f"{row.label:{label_width}}  {METRIC_WORDS[row.metric]:11}  {row.start}"
            for reach in row.reaches:
                cell = f"{reach.days:,}" if reach.days is not None else "-"
                if reach.how.startswith("between"):
                    cell = "?"
                cell += "~" if reach.how == "interpolated" else " "
                line += f"  {cell:>9}"
            lines.append(line.rstrip())
        if any(reach.how.startswith("between") for row in self.rows for reach in row.reaches):
            lines.append(
                f"?: reached between two points more than {MAX_GAP_DAYS} days apart "
                "(too far apart to interpolate)"
            )
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


def milestone_reach(series: RampSeries, milestone: int) -> MilestoneReach:
    """When `series` reached `milestone`, counted in days from its start (SOP or first point)."""
    found = crossing(series.pairs(), milestone)
    if found is None:
        return MilestoneReach(milestone, None, None, "not reached")
    day, before, after = found
    if (after - before).days > MAX_GAP_DAYS:
        return MilestoneReach(milestone, None, None, f"between {before} and {after}")
    how = "data point" if before == after else "interpolated"
    return MilestoneReach(milestone, day, (day - series.start).days, how)


def compare_ramps(
    series: Mapping[str, RampSeries], milestones: Sequence[int] = DEFAULT_MILESTONES
) -> RampComparison:
    """Days from start of production to each milestone for each series (keyed by name).

    Each row carries the series' metric; `notes` says when production and deliveries are mixed.
    Raises ValueError if a milestone is not a positive whole number or a series has no points.
    """
    for milestone in milestones:
        if milestone <= 0:
            raise ValueError(f"milestone(={milestone}) must be > 0")
    rows = []
    for key, one in series.items():
        if not one.points:
            raise ValueError(f"series {key!r} has no points")
        aligned_on = "start of production" if one.sop is not None else "first point"
        reaches = tuple(milestone_reach(one, milestone) for milestone in milestones)
        rows.append(ComparisonRow(key, one.label, one.metric, one.start, aligned_on, reaches))
    return RampComparison(tuple(milestones), tuple(rows))
