"""The plant's ramp before linespeed: cars completed per month or week, imported from CSV.

The file has the header `period,quantity`; a period is a month (`2024-03`) or an ISO week
(`2024-W10`). History points come before the store's own points on the ramp; they create no
cars and shift no completion numbers (the plant file's `cars_before` does that). Each import
replaces the history stored before.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select

from linespeed.csvfile import csv_rows, header_problems
from linespeed.errors import FileProblem, LinespeedError
from linespeed.store.plants import current_plant
from linespeed.store.schema import ramp_history, units

COLUMNS: Final = ("period", "quantity")
MAX_HISTORY_BYTES: Final = 1_000_000
"""The largest history file read (about 40,000 rows)."""
MAX_QUANTITY: Final = 10_000_000
"""The most cars one period may hold."""
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class HistoryFileError(LinespeedError):
    """A history file is unreadable or invalid; lists every problem with file, line, field."""

    code = "ramp.history_invalid"

    def __init__(self, problems: list[FileProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


@dataclass(frozen=True)
class HistoryPeriod:
    """Cars completed from `start` to `end` (both included), before linespeed."""

    start: date
    end: date
    quantity: int


@dataclass(frozen=True)
class HistoryImport:
    """What an import stored: the periods, their cars, first and last day."""

    source: str
    periods: int
    quantity: int
    first_day: date
    last_day: date
    cars_before: int


def parse_history(data: bytes, source: str) -> list[HistoryPeriod]:
    """The periods of history CSV `data` (named `source` in messages), in order.

    Raises HistoryFileError listing every problem as file:line:field: an empty, too large,
    non-UTF-8 or malformed file; a header other than `period,quantity`; a row with the
    wrong number of fields; a period that is not YYYY-MM or YYYY-Www; a quantity that is not
    a whole number from 0 to MAX_QUANTITY; a period not after the one before it.
    """

    def fail(line: int | None, field: str, message: str) -> HistoryFileError:
        return HistoryFileError([FileProblem(source, line, field, message)])

    if len(data) > MAX_HISTORY_BYTES:
        raise fail(None, "", f"the file has {len(data):,} bytes; at most {MAX_HISTORY_BYTES:,}")
    rows = [(line, row) for line, row in csv_rows(data, fail) if any(v.strip() for v in row)]
    if not rows:
        raise fail(1, "", f"the file is empty; its first line is the header {','.join(COLUMNS)}")
    header_line, header = rows[0]
    order, problems = header_problems(header, COLUMNS, source, header_line)
    if problems:
        raise HistoryFileError(problems)
    periods: list[HistoryPeriod] = []
    for line, fields in rows[1:]:
        if len(fields) != len(order):
            message = f"{len(fields)} fields; the header has {len(order)}"
            problems.append(FileProblem(source, line, "", message))
            continue
        values = {name: value.strip() for name, value in zip(order, fields, strict=True)}
        span = _period(values["period"])
        if span is None:
            message = (
                f"period {values['period']!r} is not a month YYYY-MM or an ISO week "
                "YYYY-Www (e.g. 2024-03 or 2024-W10)"
            )
            problems.append(FileProblem(source, line, "period", message))
        quantity = _quantity(values["quantity"])
        if quantity is None:
            message = (
                f"quantity {values['quantity']!r} is not a whole number from 0 to {MAX_QUANTITY:,}"
            )
            problems.append(FileProblem(source, line, "quantity", message))
        if span is None or quantity is None:
            continue
        if periods and span[0] <= periods[-1].end:
            message = (
                f"period {values['period']!r} ({span[0]} to {span[1]}) does not start after "
                f"the period before it, which ends {periods[-1].end}: periods are in order "
                "and do not overlap"
            )
            problems.append(FileProblem(source, line, "period", message))
            continue
        periods.append(HistoryPeriod(span[0], span[1], quantity))
    if problems:
        raise HistoryFileError(problems)
    if not periods:
        raise fail(header_line + 1, "", "no periods under the header")
    return periods


def _period(text: str) -> tuple[date, date] | None:
    """First and last day of a month `YYYY-MM` or an ISO week `YYYY-Www`, or None."""
    month = _MONTH.match(text)
    week = _WEEK.match(text)
    try:
        if month is not None:
            year, number = int(month[1]), int(month[2])
            last = calendar.monthrange(year, number)[1]
            return date(year, number, 1), date(year, number, last)
        if week is not None:
            monday = date.fromisocalendar(int(week[1]), int(week[2]), 1)
            return monday, monday + timedelta(days=6)
    except ValueError:
        return None
    return None


def _quantity(text: str) -> int | None:
    """A whole number of cars from 0 to MAX_QUANTITY, or None."""
    if not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if number <= MAX_QUANTITY else None


def import_history(engine: Engine, data: bytes, source: str) -> HistoryImport:
    """Store the history in `data`, replacing any history stored before.

    Raises HistoryFileError as parse_history does, or naming the line of the last period
    if it does not end before the store's first completed car (in the plant's local days)
    or if the history holds more cars than the plant's `cars_before`; StoreError if no plant
    is loaded.
    """
    periods = parse_history(data, source)
    with engine.begin() as connection:
        plant = current_plant(connection)
        first = first_completed_day(connection, plant.timezone)
        if first is not None and periods[-1].end >= first:
            line = _line_of_last(data)
            message = (
                f"the history runs to {periods[-1].end}, but the store's first car was "
                f"completed on {first}: history must end before the store's own points"
            )
            raise HistoryFileError([FileProblem(source, line, "period", message)])
        total = sum(one.quantity for one in periods)
        if total > plant.cars_before:
            message = (
                f"the history holds {total:,} cars, more than the {plant.cars_before:,} cars "
                f"completed before the store began (cars_before of plant {plant.plant!r}): set "
                "cars_before in the plant file (at least the history's total) and load it first"
            )
            raise HistoryFileError([FileProblem(source, _line_of_last(data), "quantity", message)])
        connection.execute(ramp_history.delete())
        now = datetime.now(UTC)
        connection.execute(
            ramp_history.insert(),
            [
                {
                    "period_end": one.end,
                    "period_start": one.start,
                    "quantity": one.quantity,
                    "source": source,
                    "imported_at": now,
                }
                for one in periods
            ],
        )
    return HistoryImport(
        source=source,
        periods=len(periods),
        quantity=sum(one.quantity for one in periods),
        first_day=periods[0].start,
        last_day=periods[-1].end,
        cars_before=plant.cars_before,
    )


def _line_of_last(data: bytes) -> int:
    """The line number of the last non-blank line of `data`."""
    lines = data.decode("utf-8-sig", errors="replace").splitlines()
    return max((n for n, text in enumerate(lines, 1) if text.strip()), default=1)


def read_history(connection: Connection) -> list[HistoryPeriod]:
    """The stored history, in order; empty if none was imported."""
    rows = connection.execute(
        select(
            ramp_history.c.period_start, ramp_history.c.period_end, ramp_history.c.quantity
        ).order_by(ramp_history.c.period_end)
    ).all()
    return [HistoryPeriod(row.period_start, row.period_end, int(row.quantity)) for row in rows]


def first_completed_day(connection: Connection, timezone: str) -> date | None:
    """The plant-local day the store's first car was completed, or None before any."""
    first: datetime | None = connection.execute(select(func.min(units.c.completed_at))).scalar()
    if first is None:
        return None
    if first.tzinfo is None:
        first = first.replace(tzinfo=UTC)
    return first.astimezone(ZoneInfo(timezone)).date()
