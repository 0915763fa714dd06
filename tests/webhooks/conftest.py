"""Fixtures for the webhooks: a store whose 3rd car is a milestone, news, a receiver.

Every test here runs on SQLite and on PostgreSQL (see tests/backends.py).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from linespeed.events.types import Event, StationState, StationStateName
from linespeed.plant.model import Milestones, Plant
from linespeed.sim.example import ExampleSettings, example_events
from linespeed.webhooks import DeliverySettings, WebhookRunner
from tests.backends import any_db_url, backend
from tests.conftest import make_store
from tests.webhooks.receiver import Receiver, receiving

__all__ = ["any_db_url", "backend"]

SECRET = "correct horse battery staple"
FAST = DeliverySettings(
    timeout_s=10.0, first_delay_s=0.001, max_delay_s=0.01, poll_s=0.005, max_attempts=5
)
"""Back-off short enough for tests (the defaults wait seconds to minutes)."""


@pytest.fixture
def milestone_store(db_url: str, plant: Plant) -> Iterator[Engine]:
    """A store (a temp file, or a schema) whose plant makes the 3rd car a milestone."""
    small = plant.model_copy(update={"milestones": Milestones(also=(3,), color="lava-orange")})
    store = make_store(db_url, small)
    yield store
    store.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver on loopback that answers 500 to the first two requests, then 200."""
    with receiving(Receiver(failures=2)) as running:
        yield running


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """A file holding SECRET, with a line end, as people write one."""
    path = tmp_path / "hook.secret"
    path.write_text(SECRET + "\n", encoding="utf-8")
    return path


def cars(plant: Plant, count: int, first: int = 1) -> list[Event]:
    """The example stream of `count` cars, numbered from `first`."""
    settings = ExampleSettings(
        cars=count,
        first_number=first,
        id_prefix=f"cars{first}",
        start=ExampleSettings.start + timedelta(hours=first),
    )
    return list(example_events(plant, settings))


def station_news(plant: Plant, tag: str, hours: float = 10) -> list[Event]:
    """A station going down, starved for a part, starved with no part, running again."""
    station = plant.lines[0].stations[1].id
    at = ExampleSettings.start + timedelta(hours=hours)
    states: list[tuple[StationStateName, str | None]] = [
        ("down", "e-stop"),
        ("starved", "shortage:BRK-2202"),
        ("starved", None),
        ("running", None),
    ]
    return [
        StationState(
            id=f"{tag}-{number}",
            ts=at + timedelta(minutes=number),
            station=station,
            state=state,
            reason=reason,
        )
        for number, (state, reason) in enumerate(states)
    ]


def runner(engine: Engine, settings: DeliverySettings = FAST) -> WebhookRunner:
    """A runner with short back-off and a seeded jitter."""
    return WebhookRunner(engine, settings, rng=random.Random(7))
