"""The production plan in the store: numbered revisions, and the plan in force for each day.

Each import is a new revision, covering the days from its first to its last date; the
newest revision that covers a day is the plan for that day (a day inside its range with no
row for a line: that line plans no production that day). `plan import`, `plan show` and
`plan list`, the API and the KPIs all read the plan through this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

from sqlalchemy import Connection, Engine, func, select

from linespeed.errors import InputError, Wording
from linespeed.store.plants import current_plant
from linespeed.store.schema import plan_revisions, plan_rows
from linespeed.store.text import storable_text
from linespeed.supply.plan_file import FIRST_DAY, LAST_DAY, PlanRow, parse_plan

MAX_SHOWN_DAYS: Final = 3660
"""The longest span of days `plan_in_force` answers at once (about ten years)."""


class PlanInputError(InputError):
    """A bad parameter to a plan query (code `plan.input`), naming it and its value."""

    code = "plan.input"


@dataclass(frozen=True)
class PlanRevision:
    """One imported plan: its number, where it came from, and the days it covers."""

    revision: int
    source: str
    imported_at: datetime
    first_day: date
    last_day: date
    rows: int
    quantity: int
    """Cars planned over all its rows."""


@dataclass(frozen=True)
class PlanEntry:
    """One row of the plan in force: the revision it comes from and what it plans."""

    day: date
    line: str
    shift: str | None
    """None: every shift of the plant runs."""
    model: str | None
    """None: any model."""
    quantity: int
    revision: int


@dataclass(frozen=True)
class PlanView:
    """The plan in force from `first_day` to `last_day`: its rows, and the days no plan covers."""

    first_day: date | None
    last_day: date | None
    rows: list[PlanEntry]
    quantity: int
    days_planned: int
    """Days some revision covers (rows or not)."""
    days_without_plan: int
    """Days of the span that no revision covers: there, the plant's shifts run every day."""


def import_plan(engine: Engine, data: bytes, source: str) -> PlanRevision:
    """Store the plan file `data` (named `source`) as a new plan revision and return it.

    Raises PlanFileError (plan.invalid) listing every problem of the file (see
    `parse_plan`), StoreError if the store holds no plant.
    """
    with engine.begin() as connection:
        plant = current_plant(connection)
        rows = parse_plan(data, plant, source)
        return store_plan(connection, rows, source)


def import_plan_unless_same(engine: Engine, data: bytes, source: str) -> tuple[PlanRevision, bool]:
    """Store the plan file `data` as a new revision unless the newest revision holds exactly
    its rows; returns (the revision, whether it is new). Raises as `import_plan`."""
    with engine.begin() as connection:
        plant = current_plant(connection)
        rows = parse_plan(data, plant, source)
        known = revisions(connection)
        if known and _rows_of(connection, known[0].revision) == _keys(rows):
            return known[0], False
        return store_plan(connection, rows, source), True


def _keys(rows: Iterable[PlanRow]) -> set[tuple[date, str, str, str, int]]:
    return {(r.day, r.line, r.shift or "", r.model or "", r.quantity) for r in rows}


def _rows_of(connection: Connection, revision: int) -> set[tuple[date, str, str, str, int]]:
    table = plan_rows.c
    statement = select(table.day, table.line, table.shift, table.model, table.quantity).where(
        table.revision == revision
    )
    return {
        (r.day, r.line, r.shift, r.model, int(r.quantity)) for r in connection.execute(statement)
    }


def store_plan(connection: Connection, rows: Sequence[PlanRow], source: str) -> PlanRevision:
    """Store checked plan `rows` as a new revision in the connection's transaction."""
    newest = connection.execute(select(func.max(plan_revisions.c.revision))).scalar()
    stored = PlanRevision(
        revision=1 if newest is None else int(newest) + 1,
        source=storable_text(source[:1000]),
        imported_at=datetime.now(UTC),
        first_day=min(row.day for row in rows),
        last_day=max(row.day for row in rows),
        rows=len(rows),
        quantity=sum(row.quantity for row in rows),
    )
    connection.execute(
        plan_revisions.insert().values(
            revision=stored.revision,
            source=stored.source,
            imported_at=stored.imported_at,
            first_day=stored.first_day,
            last_day=stored.last_day,
            rows=stored.rows,
            quantity=stored.quantity,
        )
    )
    connection.execute(
        plan_rows.insert(),
        [
            {
                "revision": stored.revision,
                "day": row.day,
                "line": row.line,
                "shift": row.shift or "",
                "model": row.model or "",
                "quantity": row.quantity,
            }
            for row in rows
        ],
    )
    return stored


def list_revisions(engine: Engine) -> list[PlanRevision]:
    """Every plan revision, newest first."""
    with engine.connect() as connection:
        return revisions(connection)


def revisions(connection: Connection) -> list[PlanRevision]:
    """Every plan revision, newest first, read on `connection`."""
    rows = connection.execute(select(plan_revisions).order_by(plan_revisions.c.revision.desc()))
    return [
        PlanRevision(
            revision=int(row.revision),
            source=row.source,
            imported_at=row.imported_at,
            first_day=row.first_day,
            last_day=row.last_day,
            rows=int(row.rows),
            quantity=int(row.quantity),
        )
        for row in rows
    ]


def plan_in_force(
    engine: Engine, *, first_day: date | None = None, last_day: date | None = None
) -> PlanView:
    """The plan in force for each day from `first_day` to `last_day` (both included).

    Left out, they are the first and last day any revision covers. Raises PlanInputError
    (plan.input) if first_day is after last_day, a day lies outside 1970 to 2199, or the
    span is longer than MAX_SHOWN_DAYS.
    """
    for name, value in (("from", first_day), ("to", last_day)):
        if value is not None and not FIRST_DAY <= value <= LAST_DAY:
            raise PlanInputError(_outside(name, value), parameter=name, value=value)
    with engine.connect() as connection:
        known = revisions(connection)
        if first_day is None:
            first_day = min((r.first_day for r in known), default=None)
            if last_day is not None and first_day is not None:
                first_day = min(first_day, last_day)
        if last_day is None:
            last_day = max((r.last_day for r in known), default=None)
            if first_day is not None and last_day is not None:
                last_day = max(last_day, first_day)
        if first_day is None or last_day is None:
            return PlanView(first_day, last_day, [], 0, 0, 0)
        if first_day > last_day:
            raise PlanInputError(
                lambda n: f"{n('from')} {first_day} is after {n('to')} {last_day}",
                parameter="from",
                value=first_day,
            )
        if (last_day - first_day).days >= MAX_SHOWN_DAYS:
            raise PlanInputError(
                lambda n: (
                    f"{n('from')} {first_day} to {n('to')} {last_day} is longer than "
                    f"{MAX_SHOWN_DAYS} days; give a shorter span"
                ),
                parameter="to",
                value=last_day,
            )
        plan = day_plans(connection, first_day, last_day, known)
    rows = [entry for day in sorted(plan) for entry in plan[day].rows]
    span = (last_day - first_day).days + 1
    return PlanView(
        first_day,
        last_day,
        rows,
        sum(entry.quantity for entry in rows),
        len(plan),
        span - len(plan),
    )


def _outside(name: str, value: date) -> Wording:
    return lambda n: f"{n(name)} {value} is outside {FIRST_DAY} to {LAST_DAY}"


@dataclass(frozen=True)
class DayPlan:
    """The plan in force for one day: the revision that covers it and its rows that day."""

    revision: int
    rows: list[PlanEntry]

    def lines(self) -> set[str]:
        """The lines with at least one row that day (they run; the others do not)."""
        return {row.line for row in self.rows}


def day_plans(
    connection: Connection,
    first_day: date,
    last_day: date,
    known: Iterable[PlanRevision] | None = None,
) -> dict[date, DayPlan]:
    """The plan in force for every day from `first_day` to `last_day` that a revision covers.

    Days no revision covers are left out. `known` are the revisions (read if not given).
    """
    newest_first = sorted(
        revisions(connection) if known is None else known, key=lambda r: -r.revision
    )
    covering: dict[date, int] = {}
    for revision in newest_first:
        day = max(revision.first_day, first_day)
        end = min(revision.last_day, last_day)
        while day <= end:
            covering.setdefault(day, revision.revision)
            day += timedelta(days=1)
    plan: dict[date, DayPlan] = {day: DayPlan(number, []) for day, number in covering.items()}
    for number in sorted(set(covering.values())):
        days = [day for day, owner in covering.items() if owner == number]
        statement = (
            select(plan_rows)
            .where(
                plan_rows.c.revision == number,
                plan_rows.c.day >= min(days),
                plan_rows.c.day <= max(days),
            )
            .order_by(plan_rows.c.day, plan_rows.c.line, plan_rows.c.shift, plan_rows.c.model)
        )
        for row in connection.execute(statement):
            if covering.get(row.day) == number:
                plan[row.day].rows.append(
                    PlanEntry(
                        day=row.day,
                        line=row.line,
                        shift=row.shift or None,
                        model=row.model or None,
                        quantity=int(row.quantity),
                        revision=number,
                    )
                )
    return plan
