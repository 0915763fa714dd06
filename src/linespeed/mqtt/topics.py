"""The MQTT topics of contract 3, built and read in one place.

In: `linespeed/v1/<plant>/<line>/<station>/events`; events that name no station (a car
started, completed or shipped) may also use the line-level topic with station `_`.
Out: `linespeed/v1/<plant>/deadletters` and `linespeed/v1/<plant>/<line>/milestones`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

TOPIC_ROOT: Final = "linespeed/v1"
LINE_LEVEL: Final = "_"
"""The station level of the topic for events that belong to the line, not one station."""
ALL_PLANTS: Final = "+"


@dataclass(frozen=True)
class EventsTopic:
    """Where an events topic says its events come from; `station` is None for `_`."""

    plant: str
    line: str
    station: str | None


def events_topic(plant: str, line: str, station: str | None) -> str:
    """The topic a station (or, with no station, the line) publishes its events to."""
    return f"{TOPIC_ROOT}/{plant}/{line}/{station or LINE_LEVEL}/events"


def events_subscription(plant: str = ALL_PLANTS) -> str:
    """The subscription for every station's events of `plant` (`+`: of every plant)."""
    return f"{TOPIC_ROOT}/{plant}/+/+/events"


def deadletters_topic(plant: str) -> str:
    """The topic refused events of `plant` are published to, with their reason."""
    return f"{TOPIC_ROOT}/{plant}/deadletters"


def milestones_topic(plant: str, line: str) -> str:
    """The (retained) topic of the newest milestone car a line has completed."""
    return f"{TOPIC_ROOT}/{plant}/{line}/milestones"


def parse_events_topic(topic: str) -> EventsTopic | None:
    """The plant, line and station an events topic names; None if it is not one."""
    parts = topic.split("/")
    if len(parts) != 6 or f"{parts[0]}/{parts[1]}" != TOPIC_ROOT or parts[5] != "events":
        return None
    plant, line, station = parts[2], parts[3], parts[4]
    if not plant or not line or not station:
        return None
    return EventsTopic(plant, line, None if station == LINE_LEVEL else station)
