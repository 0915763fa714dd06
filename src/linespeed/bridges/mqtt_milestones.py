"""Milestone cars as they roll off, for the bridge to publish (retained) per line."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from sqlalchemy import Engine, func, select

from linespeed.ramp.milestones import MilestoneCar, milestones_reached, next_milestone
from linespeed.ramp.milestones import current_plant as store_plant
from linespeed.store.schema import units


@dataclass(frozen=True)
class MilestoneNews:
    """A milestone car reached, with the line it was built on and its message."""

    line: str
    number: int
    payload: bytes


class MilestoneWatch:
    """Tells which milestones were reached since it last looked (one cheap query a look)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        with engine.connect() as connection:
            self.plant = store_plant(connection)
            self.completed = self._completed_count()

    def _completed_count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.max(units.c.completion_seq))).scalar() or 0)

    def newest(self) -> list[MilestoneNews]:
        """The newest milestone reached on each line so far (to republish on start-up)."""
        report = milestones_reached(self.engine)
        latest: dict[str, MilestoneNews] = {}
        for news in self._news(report.reached):
            latest[news.line] = news
        return list(latest.values())

    def reached_since_last_look(self) -> list[MilestoneNews]:
        """Milestones reached since the last call (or since the watch began), in order."""
        completed = self._completed_count()
        upcoming = next_milestone(self.plant, self.completed)
        before, self.completed = self.completed, completed
        if upcoming is None or completed < upcoming:
            return []
        report = milestones_reached(self.engine)
        return self._news([car for car in report.reached if car.number > before])

    def _news(self, cars: list[MilestoneCar]) -> list[MilestoneNews]:
        if not cars:
            return []
        with self.engine.connect() as connection:
            lines = dict(
                connection.execute(
                    select(units.c.vin, units.c.line).where(
                        units.c.vin.in_([car.vin for car in cars])
                    )
                ).all()
            )
        news = []
        for car in cars:
            line = str(lines.get(car.vin) or "")
            body = {"plant": self.plant.plant, "line": line, **msgspec.to_builtins(car)}
            news.append(MilestoneNews(line, car.number, msgspec.json.encode(body)))
        return news
