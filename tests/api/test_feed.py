"""The live feed: completions with their numbers, milestones, station states, over SSE."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from linespeed.api import ApiSettings
from linespeed.live import feed_after, last_seq
from linespeed.api.server import running_server
from linespeed.api.tokens import create_token
from linespeed.events.types import Event, StationState, UnitCompleted
from linespeed.plant.model import Milestones, Plant
from linespeed.sim.example import ExampleSettings, example_events
from tests.conftest import ingest, make_store


@pytest.fixture
def milestone_store(db_url: str, plant: Plant) -> Iterator[Engine]:
    """A store whose plant makes the 3rd car a milestone."""
    small = plant.model_copy(update={"milestones": Milestones(also=(3,), color="lava-orange")})
    store = make_store(db_url, small)
    yield store
    store.dispose()


def test_feed_tells_completions_milestones_and_station_states(
    milestone_store: Engine, plant: Plant
) -> None:
    stream = list(example_events(plant, ExampleSettings(cars=4)))
    ingest(milestone_store, stream)
    messages, resume = feed_after(milestone_store, 0)
    assert resume == last_seq(milestone_store) == len(stream)
    completed = [e.vin for e in stream if isinstance(e, UnitCompleted)]
    states = [e.station for e in stream if isinstance(e, StationState)]
    timeline = [(m.event, m.data.get("vin") or m.data.get("station")) for m in messages]
    assert timeline == [
        *[("station-state", station) for station in states],
        ("completion", completed[0]),
        ("completion", completed[1]),
        ("completion", completed[2]),
        ("milestone", completed[2]),
        ("completion", completed[3]),
    ]
    numbers = [m.data["number"] for m in messages if m.event == "completion"]
    assert numbers == [1, 2, 3, 4]
    assert feed_after(milestone_store, resume) == ([], resume)


def test_feed_resumes_in_pages(milestone_store: Engine, plant: Plant) -> None:
    stream = list(example_events(plant, ExampleSettings(cars=2)))
    ingest(milestone_store, stream)
    everything, _ = feed_after(milestone_store, 0)
    paged: list[Any] = []
    after = 0
    while True:
        page, after = feed_after(milestone_store, after, limit=5)
        if not page:
            break
        paged += page
    assert paged == everything


def _sse(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    event, data = "", ""
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif not line and event:
            yield event, json.loads(data)
            event, data = "", ""


def test_stream_sends_events_as_they_are_posted(engine: Engine, plant: Plant) -> None:
    viewer = create_token(engine, "viewer").token
    operator = create_token(engine, "operator").token
    events: list[Event] = list(example_events(plant, ExampleSettings(cars=1)))
    body = "\n".join(_json(event) for event in events)
    with (
        running_server(engine, ApiSettings(poll_s=0.05)) as url,
        httpx.Client(base_url=url, timeout=10) as client,
        client.stream("GET", "/api/v1/stream", params={"access_token": viewer}) as feed,
    ):
        assert feed.status_code == 200
        assert feed.headers["content-type"].startswith("text/event-stream")
        received = _sse(feed.iter_lines())
        assert next(received)[0] == "hello"
        posted = client.post(
            "/api/v1/events",
            content=body,
            headers={"Authorization": f"Bearer {operator}", "Content-Type": "application/x-ndjson"},
        )
        assert posted.json()["accepted"] == len(events)
        kinds = []
        for kind, data in received:
            kinds.append(kind)
            if kind == "completion":
                assert data["number"] == 1
                break
    assert kinds.count("station-state") == sum(isinstance(e, StationState) for e in events)


def _json(event: Event) -> str:
    from linespeed.events.codec import encode_event

    return encode_event(event).decode()
