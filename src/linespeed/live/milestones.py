"""Milestone news: the one payload of a milestone car for SSE, MQTT (and NATS to come).

A milestone car is told the same way wherever it goes: `MilestoneNews`, built by
`milestone_news` from `linespeed.ramp.milestones.milestones_reached` and the car's line.
The SSE feed (`feed_after`) sends it as its `milestone` message; the MQTT bridge publishes
it, retained, per line, following the store with a `MilestoneWatch`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Engine, func, select

from linespeed.plant.model import Plant
from linespeed.ramp.milestones import milestones_reached, next_milestone
from linespeed.store.plants import current_plant
from linespeed.store.schema import units


@dataclass(frozen=True)
class MilestoneNews:
    """A milestone car rolled off: the Nth completed car, where and when it was built."""

    plant: str
    line: str
    number: int
    """The car's completion number: it is the `number`th car the plant completed."""
    vin: str
    model: str
    color: str
    ts: datetime
    """When it rolled off (UTC)."""
    days_since_sop: float
    in_milestone_color: bool
    planned_vin: str | None
    """The car planned to be the milestone (`milestones plan N --record`), if any."""
    was_planned: bool | None
    """None if no car was planned."""

    def as_json(self) -> dict[str, Any]:
        """The payload as JSON-ready builtins, in field order (`ts` as ISO 8601 UTC)."""
        payload: dict[str, Any] = msgspec.to_builtins(self)
        return payload


def milestone_news(
    engine: Engine, plant: Plant, numbers: Collection[int] | None = None
) -> list[MilestoneNews]:
    """The milestone cars reached so far (only those of `numbers`, if given), in order.

    Raises StoreError if the store holds no plant.
    """
    cars = [
        car
        for car in milestones_reached(engine).reached
        if numbers is None or car.number in numbers
    ]
    if not cars:
        return []
    with engine.connect() as connection:
        lines: dict[str, str] = dict(
            connection.execute(
                select(units.c.vin, units.c.line).where(units.c.vin.in_([car.vin for car in cars]))
            ).all()
        )
    return [
        MilestoneNews(
            plant=plant.plant,
            line=str(lines.get(car.vin) or ""),
            number=car.number,
            vin=car.vin,
            model=car.model,
            color=car.color,
            ts=car.completed_at,
            days_since_sop=car.days_since_sop,
            in_milestone_color=car.in_milestone_color,
            planned_vin=car.planned_vin,
            was_planned=car.was_planned,
        )
        for car in cars
    ]


class MilestoneWatch:
    """Tells which milestones were reached since it last looked (one cheap query a look)."""

    def __init__(self, engine: Engine) -> None:
        """Start watching after the cars completed so far.

        Raises StoreError if the store holds no plant.
        """
        self.engine = engine
        with engine.connect() as connection:
            self.plant = current_plant(connection)
        self.completed = self._completed_count()

    def _completed_count(self) -> int:
        """The plant's cars completed: the store's, after the plant's `cars_before`."""
        with self.engine.connect() as connection:
            stored = connection.execute(select(func.max(units.c.completion_seq))).scalar()
        return int(stored or 0) + self.plant.cars_before

    def newest(self) -> list[MilestoneNews]:
        """The newest milestone reached on each line so far (to republish on start-up)."""
        latest: dict[str, MilestoneNews] = {}
        for news in milestone_news(self.engine, self.plant):
            latest[news.line] = news
        return list(latest.values())

    def reached_since_last_look(self) -> list[MilestoneNews]:
        """Milestones reached since the last call (or since the watch began), in order."""
        completed = self._completed_count()
        upcoming = next_milestone(self.plant, self.completed)
        before, self.completed = self.completed, completed
        if upcoming is None or completed < upcoming:
            return []
        return [news for news in milestone_news(self.engine, self.plant) if news.number > before]
