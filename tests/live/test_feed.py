"""News since a sequence number: completions with their numbers, milestones, station states."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from sqlalchemy import Engine

from linespeed.bridges.mqtt_milestones import MilestoneWatch
from linespeed.errors import LinespeedError
from linespeed.events.types import StationState, UnitCompleted
from linespeed.live import feed_after, last_seq
from linespeed.live.replay import read_chunk
from linespeed.live.sse import FeedChunk
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


def test_feed_reads_up_to_until(milestone_store: Engine, plant: Plant) -> None:
    ingest(milestone_store, list(example_events(plant, ExampleSettings(cars=3))))
    everything, newest = feed_after(milestone_store, 0)
    middle = everything[len(everything) // 2].seq
    first, resume = feed_after(milestone_store, 0, until=middle)
    assert resume == middle
    assert first == [m for m in everything if m.seq <= middle]
    with pytest.raises(LinespeedError, match="until >= after"):
        feed_after(milestone_store, middle, until=middle - 1)
    assert newest == last_seq(milestone_store)


def test_a_chunk_is_the_sse_text_of_its_messages_and_sends_what_a_client_has_not_seen(
    milestone_store: Engine, plant: Plant
) -> None:
    ingest(milestone_store, list(example_events(plant, ExampleSettings(cars=3))))
    newest = last_seq(milestone_store)
    messages, _ = feed_after(milestone_store, 0)
    chunk = read_chunk(milestone_store, 0, newest)
    assert (chunk.after, chunk.last) == (0, newest)
    blocks = chunk.text.decode().split("\n\n")[:-1]
    assert len(blocks) == len(messages)
    assert blocks[0].startswith(f"id: {messages[0].seq}\nevent: {messages[0].event}\ndata: {{")
    milestone = next(m for m in messages if m.event == "milestone")
    rest = chunk.since(milestone.seq).decode()
    assert rest.count("event: ") == sum(m.seq > milestone.seq for m in messages)
    assert "event: milestone" not in rest
    assert chunk.since(0) == chunk.text
    assert chunk.since(newest) == b""
    assert FeedChunk.of(0, 5, []).since(0) == b""


def test_sse_and_mqtt_tell_a_milestone_with_one_payload(
    milestone_store: Engine, plant: Plant
) -> None:
    stream = list(example_events(plant, ExampleSettings(cars=4)))
    ingest(milestone_store, stream)
    messages, _ = feed_after(milestone_store, 0)
    (sse,) = [m for m in messages if m.event == "milestone"]
    completion = next(m for m in messages if m.event == "completion" and m.data["number"] == 3)
    (mqtt_message,) = MilestoneWatch(milestone_store).newest()
    sse_payload = msgspec.json.decode(FeedChunk.of(0, sse.seq, [sse]).text.split(b"data: ")[1])
    assert msgspec.json.decode(mqtt_message.payload) == sse_payload
    assert sse_payload == {
        "plant": plant.plant,
        "line": "l1",
        "number": 3,
        "vin": completion.data["vin"],
        "model": completion.data["model"],
        "color": completion.data["color"],
        "ts": completion.data["ts"],
        "days_since_sop": sse_payload["days_since_sop"],
        "in_milestone_color": completion.data["color"] == "lava-orange",
        "planned_vin": None,
        "was_planned": None,
    }
    assert sse_payload["days_since_sop"] >= 0


def test_cars_built_before_the_store_shift_the_feed_s_numbers_and_milestones(
    db_url: str, plant: Plant
) -> None:
    # two cars before the store: the store's first car is the plant's third, a milestone
    before = plant.model_copy(
        update={"milestones": Milestones(also=(3,), color="lava-orange"), "cars_before": 2}
    )
    store = make_store(db_url, before)
    try:
        watch = MilestoneWatch(store)
        ingest(store, list(example_events(plant, ExampleSettings(cars=2))))
        messages, _ = feed_after(store, 0)
        numbers = [m.data["number"] for m in messages if m.event == "completion"]
        assert numbers == [3, 4]
        (milestone,) = [m for m in messages if m.event == "milestone"]
        assert milestone.data["number"] == 3
        (news,) = watch.reached_since_last_look()
        assert news.number == 3
    finally:
        store.dispose()
