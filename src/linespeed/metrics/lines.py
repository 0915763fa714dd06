"""The seconds since each line's newest car start or completion, read at scrape time.

`NewestCars` keeps each line's newest start and completion from one look to the next. Its
first look walks the `units` indexes on start and completion time (`ix_units_started_at`,
`ix_units_completed_at`) down to each line's newest car; later looks read only the cars
started or completed since the last one (a `start_seq` or `completion_seq` above the greatest
it saw, on their unique indexes), so a scrape costs what came since, however large the store.
Each look is one query. A line without any car has no sample; only its first look walks a
whole index (once per process).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import (
    Column,
    CompoundSelect,
    Connection,
    Engine,
    ScalarSelect,
    Select,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.exc import SQLAlchemyError

from linespeed.errors import LinespeedError
from linespeed.store.plants import current_plant, current_revision
from linespeed.store.schema import units

log = logging.getLogger(__name__)


class NewestCars:
    """Each line's newest car start and completion in one store, kept between looks."""

    def __init__(self) -> None:
        self.started: dict[str, datetime] = {}
        self.completed: dict[str, datetime] = {}
        self.seen: tuple[int, int] | None = None
        """The greatest start and completion numbers at the last look (None: no look yet)."""

    def query(self, lines: list[str]) -> Select[Any] | CompoundSelect[Any]:
        """The look's one query. The first: per line (line, newest start, newest completion,
        greatest start number, greatest completion number), walking the time indexes. Later
        ones: per line with cars started, or completed, since the last look (`started` or
        `completed`, line, newest time, greatest number), over the number indexes' ranges.

        Raises ValueError if `lines` is empty.
        """
        if not lines:
            raise ValueError("the newest cars of no line were asked")
        if self.seen is not None:
            return union_all(
                *(
                    select(literal(which).label("kind"), units.c.line, func.max(at))
                    .add_columns(func.max(number))
                    .where(number > seen)
                    .group_by(units.c.line)
                    for which, at, number, seen in (
                        ("started", units.c.started_at, units.c.start_seq, self.seen[0]),
                        ("completed", units.c.completed_at, units.c.completion_seq, self.seen[1]),
                    )
                )
            )
        greatest = (
            select(func.max(units.c.start_seq)).scalar_subquery(),
            select(func.max(units.c.completion_seq)).scalar_subquery(),
        )
        selects = [
            select(
                literal(line).label("line"),
                _walk(line, units.c.started_at).label("started_at"),
                _walk(line, units.c.completed_at).label("completed_at"),
                greatest[0].label("start_seq"),
                greatest[1].label("completion_seq"),
            )
            for line in lines
        ]
        return selects[0] if len(selects) == 1 else union_all(*selects)

    def look(self, connection: Connection, lines: list[str]) -> dict[str, datetime | None]:
        """Each line's newest car start or completion (UTC), None for a line without cars."""
        if not lines:
            return {}
        rows = connection.execute(self.query(lines)).all()
        if self.seen is None:
            seen = (0, 0)
            for line, started_at, completed_at, start_seq, completion_seq in rows:
                _keep_newest(self.started, line, started_at)
                _keep_newest(self.completed, line, completed_at)
                seen = (int(start_seq or 0), int(completion_seq or 0))
        else:
            seen = self.seen
            for kind, line, at, number in rows:
                if kind == "started":
                    _keep_newest(self.started, line, at)
                    seen = (max(seen[0], int(number)), seen[1])
                else:
                    _keep_newest(self.completed, line, at)
                    seen = (seen[0], max(seen[1], int(number)))
        self.seen = seen
        newest: dict[str, datetime | None] = {}
        for line in lines:
            times = [at for at in (self.started.get(line), self.completed.get(line)) if at]
            newest[line] = max(times) if times else None
        return newest


def _walk(line: str, at: Column[Any]) -> ScalarSelect[Any]:
    """The line's newest `at`, walking down the index on `at` to the line's first car."""
    return (
        select(at)
        .where(units.c.line == line, at.is_not(None))
        .order_by(at.desc())
        .limit(1)
        .scalar_subquery()
    )


def _keep_newest(newest: dict[str, datetime], line: str, at: datetime | None) -> None:
    if at is not None and (line not in newest or at > newest[line]):
        newest[line] = at


def newest_unit_times(connection: Connection, lines: list[str]) -> dict[str, datetime | None]:
    """Each line's newest car start or completion (UTC), None for a line without cars."""
    return NewestCars().look(connection, lines)


class LineAgeCollector(Collector):
    """`linespeed_line_last_event_age_seconds{plant,line}`, read from the store `engine` at
    each scrape. A store that cannot be read gives no sample (and a warning in the log)."""

    def __init__(self, engine: Engine, now: Callable[[], datetime] | None = None) -> None:
        self.engine = engine
        self.now = now or (lambda: datetime.now(UTC))
        self._newest = NewestCars()
        self._plant: tuple[int | None, str, list[str]] | None = None
        """(revision, plant id, line ids) of the last plant read: read again when it changes."""

    def collect(self) -> Iterator[Metric]:
        """The gauge, one sample per line that has started a car."""
        gauge = GaugeMetricFamily(
            "linespeed_line_last_event_age_seconds",
            "Seconds since the line's newest car start or completion.",
            labels=["plant", "line"],
        )
        try:
            with self.engine.connect() as connection:
                plant, lines = self._lines(connection)
                newest = self._newest.look(connection, lines)
        except (SQLAlchemyError, LinespeedError) as error:
            log.warning("metrics: cannot read the lines' newest cars: %s", error)
            yield gauge
            return
        now = self.now()
        for line, at in newest.items():
            if at is not None:
                gauge.add_metric([plant, line], max(0.0, (now - at).total_seconds()))
        yield gauge

    def _lines(self, connection: Connection) -> tuple[str, list[str]]:
        revision = current_revision(connection)
        if self._plant is None or self._plant[0] != revision:
            plant = current_plant(connection)
            self._plant = (revision, plant.plant, [line.id for line in plant.lines])
        return self._plant[1], self._plant[2]
