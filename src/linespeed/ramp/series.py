"""Ramp series: dated cumulative counts with their metric, and reading them from CSV files.

A series is a list of points (day, cumulative count up to and including that day), sorted
by day, never decreasing. Its `metric` says what is counted: cars produced or delivered
(production and deliveries are different series and are never compared silently), or
`unspecified` for a file that does not say.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final, Literal, TypeAlias

from linespeed.ramp.errors import RampInputError

Metric: TypeAlias = Literal["produced", "delivered", "unspecified"]
"""What a series counts: cars produced (completed), cars delivered, or not said."""

METRIC_WORDS: Final[dict[Metric, str]] = {
    "produced": "production",
    "delivered": "deliveries",
    "unspecified": "metric unspecified",
}
"""The word for each metric, as shown in tables and legends."""

CUMULATIVE_HEADER: Final = ("date", "cumulative")
PERIOD_HEADER: Final = ("period_end", "quantity")

Pairs: TypeAlias = Sequence[tuple[date, float]]
"""(day, cumulative) points, sorted by day."""


@dataclass(frozen=True)
class RampPoint:
    """One point of a series: the cumulative count at the end of `day`, and where it is from."""

    day: date
    cumulative: float
    source: str = ""
    confidence: str = ""
    kind: str = "point"


@dataclass(frozen=True)
class RampSeries:
    """A cumulative curve of one program (or plant) and one metric, with its start of production.

    `sop` is the start of production (None if unknown: the series is then aligned on its first
    point); `source` says where the series came from (a file, the reference data).
    """

    name: str
    label: str
    metric: Metric
    sop: date | None
    points: tuple[RampPoint, ...]
    source: str = ""
    note: str = ""

    @property
    def program(self) -> str:
        """The program (or plant) the series is of: its name."""
        return self.name

    @property
    def legend(self) -> str:
        """The label with its metric in words, e.g. "Tesla Model 3 (production)"."""
        return f"{self.label} ({METRIC_WORDS[self.metric]})"

    @property
    def start(self) -> date:
        """The day the series is aligned on: its start of production, else its first point."""
        return self.sop if self.sop is not None else self.points[0].day

    def pairs(self) -> list[tuple[date, float]]:
        """The points as (day, cumulative) pairs."""
        return [(point.day, point.cumulative) for point in self.points]

    def until(self, last_day: date) -> RampSeries:
        """The same series cut after `last_day` (points on that day are kept)."""
        kept = tuple(point for point in self.points if point.day <= last_day)
        return RampSeries(
            self.name, self.label, self.metric, self.sop, kept, self.source, self.note
        )


def check_points(pairs: Pairs, source: str = "points") -> None:
    """Check that `pairs` form a cumulative curve; point numbers are 1-based.

    Raises RampInputError if a count is negative or not finite, a day is not after the one
    before it, or a cumulative count decreases.
    """
    for number, (day, cumulative) in enumerate(pairs, start=1):
        if not math.isfinite(cumulative) or cumulative < 0:
            message = f"cumulative {cumulative!r} on {day} must be a finite number >= 0"
            raise RampInputError(source, message, line=number, value=str(cumulative))
        if number > 1:
            before_day, before = pairs[number - 2]
            if day <= before_day:
                message = f"day {day} is not after {before_day} (point {number - 1})"
                raise RampInputError(source, message, line=number, value=str(day))
            if cumulative < before:
                message = (
                    f"cumulative {cumulative:g} on {day} is less than {before:g} on "
                    f"{before_day}: a cumulative count cannot decrease"
                )
                raise RampInputError(source, message, line=number, value=f"{cumulative:g}")


def series_from_pairs(
    pairs: Pairs,
    *,
    name: str = "series",
    label: str | None = None,
    metric: Metric = "unspecified",
    sop: date | None = None,
    source: str = "points",
) -> RampSeries:
    """A series from (day, cumulative) pairs.

    Raises RampInputError if the pairs are not a cumulative curve (see `check_points`).
    """
    check_points(pairs, source)
    points = tuple(RampPoint(day, float(cumulative), source) for day, cumulative in pairs)
    return RampSeries(name, label or name, metric, sop, points, source)


def series_from_counts(
    days: Sequence[date],
    counts: Sequence[int],
    *,
    name: str = "plant",
    label: str | None = None,
    metric: Metric = "produced",
    sop: date | None = None,
    source: str = "store",
) -> RampSeries:
    """A series from counts per day (cars completed each day), accumulated.

    Raises RampInputError if the days are not increasing or a count is negative.
    """
    total = 0.0
    pairs: list[tuple[date, float]] = []
    for number, (day, count) in enumerate(zip(days, counts, strict=True), start=1):
        if count < 0:
            raise RampInputError(source, f"count {count} is negative", line=number)
        total += count
        pairs.append((day, total))
    return series_from_pairs(
        pairs,
        name=name,
        label=label,
        metric=metric,
        sop=sop or (days[0] if days else None),
        source=source,
    )


def read_series_csv(
    path: str | os.PathLike[str], *, metric: Metric = "unspecified", sop: date | None = None
) -> RampSeries:
    """Read a series from a CSV file with the header `date,cumulative` or `period_end,quantity`.

    Dates are `YYYY-MM-DD`, sorted, one row per date; quantities per period are accumulated.
    Blank lines are skipped. Raises RampInputError naming the file, line and value if the file
    is missing or empty, the header is neither of the two, a row does not have two cells, a
    date or number does not parse, dates are not increasing, a cumulative count decreases or
    a quantity is negative.
    """
    file = os.fspath(path)
    rows = _rows(file)
    if not rows:
        raise RampInputError(
            file, "is empty: expected a header `date,cumulative` or `period_end,quantity`"
        )
    header_line, header = rows[0]
    columns = tuple(cell.strip() for cell in header)
    if columns not in (CUMULATIVE_HEADER, PERIOD_HEADER):
        raise RampInputError(
            file,
            f"unknown header {','.join(header)!r}: expected `date,cumulative` "
            "or `period_end,quantity` (names exactly these)",
            line=header_line,
            value=",".join(header),
        )
    if len(rows) == 1:
        raise RampInputError(file, "has a header but no data rows", line=header_line)
    by_period = columns == PERIOD_HEADER
    points = _points(file, rows[1:], columns, by_period=by_period)
    name = Path(file).stem
    return RampSeries(name, name, metric, sop, tuple(points), file)


def _rows(file: str) -> list[tuple[int, list[str]]]:
    """The non-blank rows of a CSV file with their 1-based line numbers."""
    try:
        with Path(file).open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            return [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except FileNotFoundError:
        raise RampInputError(file, "no such file") from None
    except UnicodeDecodeError as error:
        raise RampInputError(file, f"is not UTF-8 text (offset {error.start})") from None
    except (OSError, csv.Error) as error:
        raise RampInputError(file, f"cannot be read: {error}") from None


def _points(
    file: str, rows: Iterable[tuple[int, list[str]]], columns: tuple[str, str], *, by_period: bool
) -> list[RampPoint]:
    """The points of the data rows, checked one by one against the row before."""
    date_column, number_column = columns
    points: list[RampPoint] = []
    total = 0.0
    for line, row in rows:
        if len(row) != 2:
            raise RampInputError(
                file,
                f"expected 2 values ({date_column},{number_column}), got {len(row)}",
                line=line,
                value=",".join(row),
            )
        day = _parse_day(file, line, date_column, row[0].strip())
        number = _parse_number(file, line, number_column, row[1].strip())
        if points and day <= points[-1].day:
            raise RampInputError(
                file,
                f"{date_column} {day} is not after {points[-1].day} on the row before: "
                "dates must be sorted, one row per date",
                line=line,
                value=row[0].strip(),
            )
        if by_period:
            if number < 0:
                raise RampInputError(
                    file,
                    f"quantity {row[1].strip()} is negative",
                    line=line,
                    value=row[1].strip(),
                )
            total += number
        else:
            if number < 0:
                raise RampInputError(
                    file,
                    f"cumulative {row[1].strip()} is negative",
                    line=line,
                    value=row[1].strip(),
                )
            if points and number < points[-1].cumulative:
                raise RampInputError(
                    file,
                    f"cumulative {row[1].strip()} is less than {points[-1].cumulative:g} on "
                    "the row before: a cumulative count cannot decrease",
                    line=line,
                    value=row[1].strip(),
                )
            total = number
        points.append(RampPoint(day, total, f"{file}:{line}"))
    return points


def _parse_day(file: str, line: int, column: str, text: str) -> date:
    """The date in a cell. Raises RampInputError if it is not YYYY-MM-DD."""
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise RampInputError(
            file,
            f"{column} {text!r} is not a date (expected YYYY-MM-DD)",
            line=line,
            value=text,
        ) from None


def _parse_number(file: str, line: int, column: str, text: str) -> float:
    """The finite number in a cell. Raises RampInputError if it is not one."""
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise RampInputError(file, f"{column} {text!r} is not a number", line=line, value=text)
    return number


def forecast_csv_series(
    path: str | os.PathLike[str], *, metric: str = "unspecified", sop: str | None = None
) -> RampSeries:
    """The series of a CSV file, with its metric and start of production given as text.

    `metric` is `produced`, `delivered` or `unspecified`; `sop` a YYYY-MM-DD date or None.
    Raises RampInputError naming the bad value, or whatever `read_series_csv` raises.
    """
    file = os.fspath(path)
    if metric not in METRIC_WORDS:
        raise RampInputError(
            file, f"metric {metric!r} is not one of {', '.join(METRIC_WORDS)}", value=metric
        )
    start: date | None = None
    if sop is not None:
        try:
            start = date.fromisoformat(sop.strip()) if len(sop.strip()) == 10 else None
        except ValueError:
            start = None
        if start is None:
            raise RampInputError(
                file, f"sop {sop!r} is not a date (expected YYYY-MM-DD)", value=sop
            )
    series = read_series_csv(file, metric=metric, sop=start)
    if start is not None and series.points and start > series.points[0].day:
        raise RampInputError(
            file,
            f"sop {start} is after the first row ({series.points[0].day}): the start of "
            "production comes first",
            value=sop,
        )
    return series
