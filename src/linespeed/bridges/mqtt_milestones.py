"""Milestone cars as they roll off, for the bridge to publish (retained) per line.

What a milestone is and its payload come from `linespeed.live.milestones`, so MQTT tells
a milestone exactly as the SSE feed's `milestone` message does.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from sqlalchemy import Engine

from linespeed.live.milestones import MilestoneNews
from linespeed.live.milestones import MilestoneWatch as LiveWatch


@dataclass(frozen=True)
class MilestoneMessage:
    """A milestone car reached, with the line it was built on and its message."""

    line: str
    number: int
    payload: bytes

    @classmethod
    def of(cls, news: MilestoneNews) -> MilestoneMessage:
        """The message of a milestone: its payload as JSON."""
        return cls(news.line, news.number, msgspec.json.encode(news.as_json()))


class MilestoneWatch:
    """The live milestone watch, its news as MQTT messages."""

    def __init__(self, engine: Engine) -> None:
        """Raises StoreError if the store holds no plant."""
        self._watch = LiveWatch(engine)
        self.plant = self._watch.plant

    def newest(self) -> list[MilestoneMessage]:
        """The newest milestone reached on each line so far (to republish on start-up)."""
        return [MilestoneMessage.of(news) for news in self._watch.newest()]

    def reached_since_last_look(self) -> list[MilestoneMessage]:
        """Milestones reached since the last call (or since the watch began), in order."""
        return [MilestoneMessage.of(news) for news in self._watch.reached_since_last_look()]
