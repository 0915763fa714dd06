"""KPI reports of finished days and shifts, computed once and kept in `kpi_reports`.

A report whose window is exactly one plant-local day or one shift of the plant, ended at
least `MARGIN` before the newest event, is kept once computed, and read back while it is
still true: written under the plant and plan revisions in force now, and no event stored
since (`as_of_seq`) falls before the window's end plus `MARGIN` (a late event, a replayed
file, a gateway's buffer: every figure of a window is decided by events before that time).
Otherwise it is computed again, from the visits, and kept again. `rebuild` empties the
table. A kept report is the computed one, so a report never differs with it or without it
(tests/kpi/test_finished.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import ColumnElement, Connection, Engine, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from linespeed.kpi.bottleneck import MARGIN
from linespeed.kpi.report import GroupBy, KpiReport
from linespeed.kpi.window import Window, local_midnight, shift_spans
from linespeed.plant.model import Plant
from linespeed.store.schema import events, kpi_reports, plan_revisions, plant_revisions

_log = logging.getLogger(__name__)

RECHECK_AFTER: Final = 5_000
"""Once this many events were stored after a kept report and none reached its window,
it is marked as checked up to the newest, so the next check reads only later ones."""
WAIT_MS: Final = 200
"""How long keeping a report waits for a writer to let go of the store."""
_decoder: Final = msgspec.json.Decoder(KpiReport)


@dataclass(frozen=True)
class FinishedKey:
    """A finished window and grouping, and the store's state its report must match."""

    window: Window
    grouping: str
    """The report's `by`, "" for none."""
    plant_revision: int
    plan_revision: int
    as_of_seq: int
    """The newest event when the window was looked at: a report computed after that
    holds every event up to it."""

    @property
    def reach(self) -> datetime:
        """An event before this time may change the report: the window's end plus MARGIN."""
        return self.window.until + MARGIN


def finished_key(
    connection: Connection, plant: Plant, window: Window, by: GroupBy | None
) -> FinishedKey | None:
    """The key of `window` if it is exactly one plant-local day or one shift and finished
    (the newest event lies at least MARGIN after its end); else None."""
    if not _is_day_or_shift(plant, window):
        return None
    newest = connection.execute(select(func.max(events.c.seq))).scalar()
    if newest is None:
        return None
    newest_ts = connection.execute(select(events.c.ts).where(events.c.seq == newest)).scalar()
    if newest_ts is None or newest_ts < window.until + MARGIN:
        return None
    return FinishedKey(
        window=window,
        grouping=by or "",
        plant_revision=_newest(connection, plant_revisions.c.revision),
        plan_revision=_newest(connection, plan_revisions.c.revision),
        as_of_seq=int(newest),
    )


def load_report(connection: Connection, key: FinishedKey) -> tuple[KpiReport, int] | None:
    """The kept report of `key` and the event it is checked up to, if it is still true."""
    row = connection.execute(select(kpi_reports).where(*_kept(key))).first()
    if row is None or (row.plant_revision, row.plan_revision) != (
        key.plant_revision,
        key.plan_revision,
    ):
        return None
    checked = int(row.as_of_seq)
    if checked > key.as_of_seq:
        return None  # kept after this report looked at the store
    late = connection.execute(
        select(events.c.seq).where(events.c.seq > checked, events.c.ts < key.reach).limit(1)
    ).first()
    if late is not None:
        return None
    return _decoder.decode(row.report), checked


def keep_report(engine: Engine, key: FinishedKey, report: KpiReport) -> None:
    """Keep `report` for `key` (replacing any), as of `key.as_of_seq`.

    Best effort: a store that cannot be written now (read-only, locked) keeps computing.
    """
    try:
        with _writing(engine) as connection:
            connection.execute(kpi_reports.delete().where(*_kept(key)))
            connection.execute(
                kpi_reports.insert().values(
                    since=key.window.since,
                    until=key.window.until,
                    grouping=key.grouping,
                    report=msgspec.json.encode(report).decode(),
                    plant_revision=key.plant_revision,
                    plan_revision=key.plan_revision,
                    as_of_seq=key.as_of_seq,
                )
            )
    except SQLAlchemyError as error:
        _log.info("report of %s not kept: %s", key.window, error)


def mark_checked(engine: Engine, key: FinishedKey, checked: int) -> None:
    """Record that no event up to `key.as_of_seq` reaches the kept report, if many came
    after `checked` (best effort, like `keep_report`)."""
    if key.as_of_seq - checked < RECHECK_AFTER:
        return
    try:
        with _writing(engine) as connection:
            connection.execute(
                update(kpi_reports)
                .where(*_kept(key), kpi_reports.c.as_of_seq == checked)
                .values(as_of_seq=key.as_of_seq)
            )
    except SQLAlchemyError as error:
        _log.info("report of %s not marked checked: %s", key.window, error)


@contextmanager
def _writing(engine: Engine) -> Iterator[Connection]:
    """A short transaction that gives up after WAIT_MS if a writer holds the store (an
    ingest batch, `rebuild`): the report is answered without keeping it."""
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            usual = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
            connection.exec_driver_sql(f"PRAGMA busy_timeout={WAIT_MS}")
            connection.commit()
        try:
            with connection.begin():
                if not sqlite:
                    connection.exec_driver_sql(f"SET LOCAL lock_timeout = {WAIT_MS}")
                yield connection
        finally:
            if sqlite:
                connection.exec_driver_sql(f"PRAGMA busy_timeout={int(usual or 0)}")


def _kept(key: FinishedKey) -> tuple[ColumnElement[bool], ...]:
    """The row of `key` in `kpi_reports`."""
    return (
        kpi_reports.c.since == key.window.since,
        kpi_reports.c.until == key.window.until,
        kpi_reports.c.grouping == key.grouping,
    )


def _is_day_or_shift(plant: Plant, window: Window) -> bool:
    zone = ZoneInfo(plant.timezone)
    day = window.since.astimezone(zone).date()
    if (window.since, window.until) == (
        local_midnight(day, zone),
        local_midnight(day + timedelta(days=1), zone),
    ):
        return True
    return any(
        (span.start, span.end) == (window.since, window.until)
        for span in shift_spans(plant, window)
    )


def _newest(connection: Connection, column: ColumnElement[int]) -> int:
    value = connection.execute(select(func.max(column))).scalar()
    return 0 if value is None else int(value)
