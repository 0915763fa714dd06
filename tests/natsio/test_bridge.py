"""The NATS bridge on the machine's server: streams set up, events in once, bad input refused.

Each test has a plant id of its own, so its stream `LS_<PLANT>` is its alone on the shared
server; the streams are deleted at the end.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import StreamConfig
from nats.js.kv import KeyValue
from sqlalchemy import Engine

from linespeed.bridges.nats import NatsBridgeSettings
from linespeed.errors import StoreError
from linespeed.ingest.core import Outcome, RawEvent
from linespeed.natsio.publisher import publish_event_lines
from linespeed.natsio.server import NatsError
from linespeed.natsio.streams import StreamPlan, set_up_streams
from linespeed.natsio.subjects import events_subject, stream_name
from linespeed.plant.model import Plant
from linespeed.store.deadletters import list_dead_letters
from tests.conftest import Result, cli_runner, make_store
from tests.natsio.conftest import (
    ThreadBridge,
    distinct_ids,
    free_port,
    line_events,
    run,
    stored_count,
    wait_until,
)

pytestmark = [pytest.mark.service]


@pytest.fixture
def linespeed(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> object:
    """`linespeed ARGS` run in this process."""
    return cli_runner(capsys, monkeypatch)


@pytest.fixture
def own_stream(nats_url: str, own_plant: Plant) -> Iterator[str]:
    """The own plant's stream name; the stream (and its consumers, leases) go at the end."""
    name = stream_name(own_plant.plant)
    yield name

    async def remove() -> None:
        client = await nats.connect(nats_url)
        js = client.jetstream()
        for stream in await js.streams_info():
            if stream.config.name == name or (stream.config.name or "").startswith(
                f"KV_LS_LEASE_{name}_"
            ):
                await js.delete_stream(stream.config.name or "")
        await client.close()

    run(remove())


@pytest.fixture
def sim_store(db_url: str, own_plant: Plant) -> Iterator[Engine]:
    """A simulation store holding the own plant."""
    store = make_store(db_url, own_plant, simulation=True)
    yield store
    store.dispose()


def settings(
    nats_url: str, *, batch_size: int = 5_000, durable: str | None = None, ack_wait_s: float = 5.0
) -> NatsBridgeSettings:
    """Bridge settings for tests: no live window (the simulator's events are from 2024)."""
    return NatsBridgeSettings(
        server=nats_url,
        live_window=None,
        batch_size=batch_size,
        durable=durable,
        ack_wait_s=ack_wait_s,
    )


def test_setup_makes_the_plant_stream_once_and_checks_it_after(
    linespeed: Callable[..., Result], nats_url: str, own_plant: Plant, own_stream: str
) -> None:
    invoke = linespeed
    made: Result = invoke("nats", "setup", "--server", nats_url, "--plant", own_plant.plant)
    assert made.exit_code == 0, made.stderr
    subjects = f"linespeed.v1.{own_plant.plant}.>"
    assert made.stdout == f"{own_stream}: created, subjects {subjects}, R1, 0 messages\n"
    again: Result = invoke(
        "nats", "setup", "--server", nats_url, "--plant", own_plant.plant, "--json"
    )
    assert again.exit_code == 0, again.stderr
    assert again.json() == [
        {
            "stream": own_stream,
            "created": False,
            "subjects": [subjects],
            "sources": [],
            "replicas": 1,
            "messages": 0,
        }
    ]


def test_a_stream_with_other_subjects_is_refused_and_left_as_it_is(
    linespeed: Callable[..., Result], nats_url: str, own_plant: Plant, own_stream: str
) -> None:
    async def make_other() -> None:
        client = await nats.connect(nats_url)
        await client.jetstream().add_stream(
            StreamConfig(name=own_stream, subjects=[f"elsewhere.{own_plant.plant}.>"])
        )
        await client.close()

    run(make_other())
    invoke = linespeed
    refused: Result = invoke("nats", "setup", "--server", nats_url, "--plant", own_plant.plant)
    assert refused.exit_code == 1
    assert refused.stderr.startswith(
        f"error: stream {own_stream} exists with subjects ['elsewhere.{own_plant.plant}.>'],"
        f" not ['linespeed.v1.{own_plant.plant}.>']: nothing changed"
    ), refused.stderr

    async def subjects() -> list[str]:
        client = await nats.connect(nats_url)
        info = await client.jetstream().stream_info(own_stream)
        await client.close()
        return list(info.config.subjects or [])

    assert run(subjects()) == [f"elsewhere.{own_plant.plant}.>"]


def test_an_unreachable_server_is_one_clear_error(
    linespeed: Callable[..., Result], engine: Engine, db_url: str
) -> None:
    invoke = linespeed
    url = f"nats://127.0.0.1:{free_port()}"
    setup: Result = invoke("nats", "setup", "--server", url, "--plant", "p1")
    assert setup.exit_code == 1
    assert setup.stderr.startswith(f"error: cannot reach the NATS server at {url}: ")
    ingest = invoke("nats", "ingest", "--server", url, "--db", db_url)
    assert ingest.exit_code == 1
    assert ingest.stderr.startswith(f"error: cannot reach the NATS server at {url}: ")
    assert ingest.stderr.count("\n") == 1
    bad_url: Result = invoke("nats", "setup", "--server", "http://x", "--plant", "p1")
    assert bad_url.exit_code == 1
    assert "bad NATS server URL 'http://x': expected nats://HOST:PORT" in bad_url.stderr


def test_events_are_stored_once_and_a_second_reading_counts_duplicates(
    nats_url: str, own_plant: Plant, own_stream: str, sim_store: Engine
) -> None:
    lines = line_events(1)
    set_up_streams(nats_url, StreamPlan((own_plant.plant,)))
    sent = publish_event_lines(lines, nats_url, own_plant.plant)
    assert (sent.published, sent.duplicates) == (len(lines), 0)
    # the same events again: JetStream drops them by message id (the idempotency key)
    again = publish_event_lines(lines[:100], nats_url, own_plant.plant)
    assert (again.published, again.duplicates) == (100, 100)
    with ThreadBridge(sim_store, settings(nats_url, batch_size=500)) as bridge:
        wait_until(lambda: stored_count(sim_store) == len(lines), 60.0, "every event stored")
        wait_until(lambda: bridge.report.messages == len(lines), 10.0, "every message acked")
    assert bridge.report.as_dict() == {
        "accepted": len(lines),
        "duplicates": 0,
        "rejected": 0,
        "reasons": {},
        "messages": len(lines),
        "batches": bridge.report.batches,
        "redelivered": 0,
        "terminated": 0,
    }
    # another durable consumer reads the whole stream again: every event is a duplicate
    with ThreadBridge(sim_store, settings(nats_url, durable="again")) as second:
        wait_until(lambda: second.report.messages == len(lines), 60.0, "the second reading")
    assert (second.report.accepted, second.report.duplicates) == (0, len(lines))
    assert stored_count(sim_store) == distinct_ids(sim_store) == len(lines)


def test_publishing_where_no_stream_captures_the_subject_is_a_clear_error(
    nats_url: str, own_plant: Plant
) -> None:
    with pytest.raises(NatsError) as raised:
        publish_event_lines(line_events(0.2)[:5], nats_url, own_plant.plant)
    assert raised.value.message == (
        f"no JetStream stream captures linespeed.v1.{own_plant.plant}.l1._.events: set the"
        " plant's stream up first (`linespeed nats setup --plant ID`)"
    )


def test_bad_messages_become_dead_letters_and_are_not_delivered_again(
    nats_url: str, own_plant: Plant, own_stream: str, sim_store: Engine
) -> None:
    plant = own_plant.plant
    lines = line_events(1)
    started = lines[0]  # a line-level event (a goods receipt)
    entered = next(line for line in lines if b'"station"' in line)
    station = msgspec.json.decode(entered)["station"]

    async def publish() -> None:
        client = await nats.connect(nats_url)
        js = client.jetstream()
        await js.add_stream(name=own_stream, subjects=[f"linespeed.v1.{plant}.>"])
        # the station in the subject is not the payload's
        await js.publish(events_subject(plant, "l1", "body-999"), entered)
        # not JSON
        await js.publish(events_subject(plant, "l1", station), b"{not json")
        # not an events subject
        await js.publish(f"linespeed.v1.{plant}.l1.stray", started)
        # a good one, to see the bridge go on
        await js.publish(events_subject(plant, "l1", None), started)
        await client.close()

    run(publish())
    with ThreadBridge(sim_store, settings(nats_url, ack_wait_s=2.0)) as bridge:
        wait_until(lambda: bridge.report.messages == 4, 30.0, "the four messages")
    assert (bridge.report.accepted, bridge.report.rejected, bridge.report.terminated) == (1, 3, 3)
    letters = list_dead_letters(sim_store)
    assert [(letter.reason, letter.source) for letter in letters] == [
        ("topic.mismatch", events_subject(plant, "l1", "body-999")),
        ("json.malformed", events_subject(plant, "l1", station)),
        ("topic.mismatch", f"linespeed.v1.{plant}.l1.stray"),
    ]

    async def pending() -> tuple[int, int, int]:
        client = await nats.connect(nats_url)
        info = await client.jetstream().consumer_info(own_stream, f"linespeed-{plant}")
        await client.close()
        return info.num_pending, info.num_ack_pending, info.num_redelivered

    assert run(pending()) == (0, 0, 0)


def test_simulate_publishes_to_jetstream_with_message_ids(
    linespeed: Callable[..., Result], nats_url: str, tmp_path: Path
) -> None:
    """`simulate --nats` publishes the scenario's plant, acknowledged, idempotent."""
    from tests.natsio.conftest import NatsServer

    server = NatsServer(tmp_path, "sim")
    server.start()
    try:
        invoke = linespeed
        setup: Result = invoke("nats", "setup", "--server", server.url, "--plant", "yz1")
        assert setup.exit_code == 0, setup.stderr
        args = ("simulate", "--days", "0.5", "--nats", server.url, "--speed", "0", "--json")
        first: Result = invoke(*args)
        assert first.exit_code == 0, first.stderr
        sent = first.json()["published"]["events"]
        assert sent == first.json()["events"] > 0
        second: Result = invoke(*args)
        assert second.exit_code == 0, second.stderr
        stored: Result = invoke("nats", "setup", "--server", server.url, "--plant", "yz1")
        assert stored.stdout.endswith(f", R1, {sent} messages\n")
    finally:
        server.kill()


def test_a_long_commit_keeps_its_messages_in_progress(
    nats_url: str,
    own_plant: Plant,
    own_stream: str,
    sim_store: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A commit that takes three acknowledgement waits: nothing is delivered twice."""
    from linespeed.ingest.core import Ingestor

    lines = line_events(1)[:200]
    set_up_streams(nats_url, StreamPlan((own_plant.plant,)))
    publish_event_lines(lines, nats_url, own_plant.plant)
    ingest_batches = Ingestor.ingest_batches

    def slowly(self: Ingestor, batches: Iterator[list[RawEvent]]) -> Iterator[list[Outcome]]:
        for outcomes in ingest_batches(self, batches):
            time.sleep(3.0)  # the acknowledgement wait is 1 s
            yield outcomes

    monkeypatch.setattr(Ingestor, "ingest_batches", slowly)
    with ThreadBridge(sim_store, settings(nats_url, ack_wait_s=1.0)) as bridge:
        wait_until(lambda: bridge.report.messages == len(lines), 30.0, "the slow batch")
    assert bridge.report.as_dict() == {
        "accepted": len(lines),
        "duplicates": 0,
        "rejected": 0,
        "reasons": {},
        "messages": len(lines),
        "batches": 1,
        "redelivered": 0,
        "terminated": 0,
    }


def test_the_same_key_with_other_content_reaches_ingest_as_a_conflict(
    nats_url: str, own_plant: Plant, own_stream: str, sim_store: Engine
) -> None:
    """JetStream drops a byte-identical repeat, never an event reusing a key with other content."""
    entered = next(line for line in line_events(1) if b'"station"' in line)
    event = msgspec.json.decode(entered)
    event["ts"] = (
        event["ts"].replace(":00", ":01", 1) if ":00" in event["ts"] else "2024-01-01T00:00:00Z"
    )
    other = msgspec.json.encode(event)
    assert other != entered
    set_up_streams(nats_url, StreamPlan((own_plant.plant,)))
    sent = publish_event_lines([entered, entered, other], nats_url, own_plant.plant)
    assert (sent.published, sent.duplicates) == (3, 1)
    with ThreadBridge(sim_store, settings(nats_url, ack_wait_s=2.0)) as bridge:
        wait_until(lambda: bridge.report.messages == 2, 30.0, "the two messages")
    assert (bridge.report.accepted, bridge.report.rejected) == (1, 1)
    assert [letter.reason for letter in list_dead_letters(sim_store)] == ["id.conflict"]


def test_an_ingest_stopped_by_its_store_hands_its_messages_back_before_its_lease(
    nats_url: str,
    own_plant: Plant,
    own_stream: str,
    sim_store: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A standby taking over at once reads the failed batches first: no car's events come
    out of order, none is refused."""
    from sqlalchemy.exc import OperationalError

    from linespeed.bridges import nats_commits
    from linespeed.ingest.core import DecodedBatch

    monkeypatch.setattr(nats_commits, "STORE_RETRIES", 1)
    lines = line_events(1)[:400]
    set_up_streams(nats_url, StreamPlan((own_plant.plant,)))
    publish_event_lines(lines, nats_url, own_plant.plant)
    failing = ThreadBridge(sim_store, settings(nats_url, batch_size=100, ack_wait_s=10.0))

    def fail_at_commit(
        prepared: DecodedBatch, before_commit: Callable[[], object] | None = None
    ) -> list[Outcome]:
        if before_commit is not None:
            before_commit()
        raise OperationalError("COMMIT", {}, Exception("database is locked"))

    monkeypatch.setattr(failing.bridge._ingestor, "_ingest", fail_at_commit)
    with failing:
        wait_until(lambda: not failing.thread.is_alive(), 20.0, "the failing ingest to stop")
    assert isinstance(failing.error, StoreError)
    assert "database is locked" in failing.error.message
    # well before the acknowledgement wait (10 s) would bring the failed batches back
    with ThreadBridge(sim_store, settings(nats_url, batch_size=100, ack_wait_s=10.0)) as standby:
        wait_until(lambda: standby.report.messages == len(lines), 8.0, "every message, at once")
    assert (standby.report.accepted, standby.report.rejected) == (len(lines), 0)
    assert stored_count(sim_store) == len(lines)


def test_a_standby_reads_what_a_holder_frozen_after_an_in_progress_ack_left_first(
    nats_url: str,
    own_plant: Plant,
    own_stream: str,
    sim_store: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The holder's batches wait to commit and its lease renewals stall (JetStream slow to
    it); once the standby pulls, the holder is frozen (as if SIGKILLed) right after its next
    in-progress acknowledgement, if it sends one. The standby reads the holder's outstanding
    messages before any after them: it pulls in the stream's order, and stores every event
    once, none refused."""
    lines = line_events(1)[:600]
    set_up_streams(nats_url, StreamPlan((own_plant.plant,)))
    publish_event_lines(lines, nats_url, own_plant.plant)
    shared = settings(nats_url, batch_size=50, durable="shared", ack_wait_s=2.0)
    holder = ThreadBridge(sim_store, shared)
    standby = ThreadBridge(sim_store, shared)
    committing, stalled, freeze, frozen, thawed = (threading.Event() for _ in range(5))
    touched: list[float] = []
    pulled: list[int] = []

    ingest_batches = holder.bridge._ingestor.ingest_batches

    def waiting(batches: Iterator[list[RawEvent]]) -> Iterator[list[Outcome]]:
        def held() -> Iterator[list[RawEvent]]:
            for batch in batches:
                committing.wait()
                yield batch

        return ingest_batches(held())

    monkeypatch.setattr(holder.bridge._ingestor, "ingest_batches", waiting)

    kv_update = KeyValue._update

    async def slow_update(
        self: KeyValue,
        key: str,
        value: bytes,
        last: int | None = None,
        validate_keys: bool = True,
        msg_ttl: float | None = None,
    ) -> int:
        while stalled.is_set() and threading.current_thread() is holder.thread:
            await asyncio.sleep(0.05)
        return await kv_update(self, key, value, last, validate_keys, msg_ttl)

    monkeypatch.setattr(KeyValue, "_update", slow_update)

    async def die(client: Client) -> None:
        await client.flush()  # the in-progress acknowledgements reach the server
        frozen.set()
        thawed.wait()  # the holder's event loop stops dead

    in_progress = Msg.in_progress
    dying: list[asyncio.Task[None]] = []

    async def touch(self: Msg) -> None:
        await in_progress(self)
        if threading.current_thread() is holder.thread:
            touched.append(time.monotonic())
            if freeze.is_set() and not dying:
                dying.append(asyncio.get_running_loop().create_task(die(self._client)))

    monkeypatch.setattr(Msg, "in_progress", touch)
    prepare = standby.bridge._prepare

    def record(messages: list[Msg], store_plant: str) -> Any:
        pulled.extend(message.metadata.sequence.stream for message in messages)
        freeze.set()
        return prepare(messages, store_plant)

    monkeypatch.setattr(standby.bridge, "_prepare", record)
    try:
        with holder:
            wait_until(lambda: bool(touched), 20.0, "the holder's batches to be kept in progress")
            stalled.set()
            with standby:
                wait_until(lambda: standby.report.messages == len(lines), 60.0, "every message")
                thawed.set()
                stalled.clear()
                committing.set()
        assert pulled[:150] == list(range(1, 151)), "the holder's messages first"
        assert pulled == sorted(set(pulled)), "the stream's order, each message once"
        assert (standby.report.accepted, standby.report.rejected) == (len(lines), 0)
        assert stored_count(sim_store) == distinct_ids(sim_store) == len(lines)
    finally:
        thawed.set()
        stalled.clear()
        committing.set()
