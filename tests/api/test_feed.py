"""The live feed over HTTP: GET /api/v1/stream on a running server (SQLite and PostgreSQL).

The library behind it (the shared poller, replays, caps) is tested in tests/live.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack

import httpx
import pytest
from sqlalchemy import Engine

from linespeed.access.tokens import create_token, revoke_token
from linespeed.api import ApiSettings
from linespeed.api.server import running_server
from linespeed.events.codec import encode_event
from linespeed.events.types import Event, StationState, UnitCompleted
from linespeed.live import REPLAY_EVENTS, last_seq
from linespeed.plant.model import Plant
from linespeed.sim.example import ExampleSettings, example_events
from tests.backends import any_db_url, backend
from tests.conftest import ingest
from tests.live.sse import GUARD_S, Sse, parse

__all__ = ["any_db_url", "backend"]  # every test here runs on SQLite and on PostgreSQL
QUICK = ApiSettings(poll_s=0.05, stream_token_check_s=0.05, live_window=None)


def _ndjson(events: list[Event]) -> bytes:
    return b"\n".join(encode_event(event) for event in events)


def _cars(plant: Plant, count: int, first: int = 1) -> list[Event]:
    settings = ExampleSettings(cars=count, first_number=first, id_prefix=f"ex{first}")
    return list(example_events(plant, settings))


def _events(feed: httpx.Response) -> Iterator[Sse]:
    return parse(feed.iter_lines())


@pytest.mark.slow
def test_stream_sends_events_as_they_are_posted(engine: Engine, plant: Plant) -> None:
    viewer = create_token(engine, "viewer").token
    operator = create_token(engine, "operator").token
    events = _cars(plant, 1)
    with (
        running_server(engine, ApiSettings(poll_s=0.05, live_window=None)) as url,
        httpx.Client(base_url=url, timeout=10) as client,
        client.stream("GET", "/api/v1/stream", params={"access_token": viewer}) as feed,
    ):
        assert feed.status_code == 200
        assert feed.headers["content-type"].startswith("text/event-stream")
        received = _events(feed)
        assert next(received).event == "hello"
        posted = client.post(
            "/api/v1/events",
            content=_ndjson(events),
            headers={"Authorization": f"Bearer {operator}", "Content-Type": "application/x-ndjson"},
        )
        assert posted.json()["accepted"] == len(events)
        kinds = []
        for message in received:
            kinds.append(message.event)
            if message.event == "completion":
                assert message.data["number"] == 1
                break
    assert kinds.count("station-state") == sum(isinstance(e, StationState) for e in events)


BAD_LAST_EVENT_IDS: list[bytes] = [
    "²".encode("latin-1"),  # "²".isdigit() is True in Python
    "²".encode(),
    "١٢".encode(),
    b"-1",
    b"99999999999999999999999",
    b"9223372036854775808",  # 2^63
    b"1e3",
    b"0x10",
    b"+7",
    b"x" * 4000,
]


@pytest.mark.slow
def test_a_last_event_id_that_is_not_a_sequence_number_is_refused(engine: Engine) -> None:
    viewer = create_token(engine, "viewer").token
    with running_server(engine, QUICK) as url, httpx.Client(base_url=url, timeout=10) as client:
        for last_event_id in BAD_LAST_EVENT_IDS:
            with client.stream(
                "GET",
                "/api/v1/stream",
                headers=[
                    (b"Authorization", f"Bearer {viewer}".encode()),
                    (b"Last-Event-ID", last_event_id),
                ],
            ) as answer:
                assert answer.status_code == 400, last_event_id
                answer.read()
                assert answer.json()["error"] == "request.invalid"
                assert "Last-Event-ID must be an event sequence number" in answer.json()["detail"]
        largest = [
            (b"Authorization", f"Bearer {viewer}".encode()),
            (b"Last-Event-ID", b"9223372036854775807"),
        ]
        with client.stream("GET", "/api/v1/stream", headers=largest) as feed:
            assert feed.status_code == 200
            assert next(_events(feed)).event == "hello"


def test_streams_beyond_a_tokens_cap_or_the_servers_are_refused(engine: Engine) -> None:
    first, second, third = (create_token(engine, "viewer").token for _ in range(3))
    settings = ApiSettings(poll_s=0.05, max_streams=3, max_streams_per_token=2)

    reading: list[Iterator[Sse]] = []
    """The open streams' readers (a reader dropped closes its connection)."""

    def open_stream(client: httpx.Client, token: str) -> httpx.Response:
        feed = client.send(
            client.build_request("GET", "/api/v1/stream", params={"access_token": token}),
            stream=True,
        )
        if feed.status_code == 200:
            reading.append(_events(feed))
            assert next(reading[-1]).event == "hello"
        else:
            feed.read()
        return feed

    with running_server(engine, settings) as url, httpx.Client(base_url=url, timeout=10) as client:
        mine = [open_stream(client, first), open_stream(client, first)]
        refused = open_stream(client, first)
        assert refused.status_code == 429
        assert refused.json()["error"] == "stream.too_many"
        assert "2 live streams open" in refused.json()["detail"]
        assert open_stream(client, second).status_code == 200
        full = open_stream(client, third)
        assert (full.status_code, full.json()["error"]) == (429, "stream.too_many")
        assert "at most 3 live streams" in full.json()["detail"]
        mine[0].close()  # the server notices the client went away and frees the slot
        again = _eventually_open(lambda: open_stream(client, third))
        assert again.status_code == 200
        for feed in (mine[1], again):
            feed.close()


def _eventually_open(attempt: Callable[[], httpx.Response]) -> httpx.Response:
    deadline = time.monotonic() + GUARD_S
    while True:
        answer = attempt()
        if answer.status_code != 429 or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def test_a_stream_ends_when_its_token_is_revoked(engine: Engine, plant: Plant) -> None:
    viewer = create_token(engine, "viewer")
    header = {"Authorization": f"Bearer {viewer.token}"}
    with (
        running_server(engine, QUICK) as url,
        httpx.Client(base_url=url, timeout=10) as client,
        client.stream("GET", "/api/v1/stream", headers=header) as feed,
    ):
        assert feed.status_code == 200
        received = _events(feed)
        assert next(received).event == "hello"
        revoke_token(engine, viewer.id)
        ingest(engine, _cars(plant, 1))
        rest = list(received)  # the server ends the stream
        assert [message.event for message in rest][-1:] == ["end"]
        assert rest[-1].data == {"reason": "token.revoked"}
        assert client.get("/api/v1/stream", headers=header).status_code == 401


@pytest.mark.slow
def test_a_replay_from_zero_starts_at_the_bound_with_a_reset(engine: Engine, plant: Plant) -> None:
    ingest(engine, _cars(plant, REPLAY_EVENTS // 90))
    newest = last_seq(engine)
    assert newest > REPLAY_EVENTS
    start = newest - REPLAY_EVENTS
    viewer = create_token(engine, "viewer").token
    with (
        running_server(engine, QUICK) as url,
        httpx.Client(base_url=url, timeout=10) as client,
        client.stream(
            "GET",
            "/api/v1/stream",
            params={"access_token": viewer},
            headers={"Last-Event-ID": "0"},
        ) as feed,
    ):
        received = _events(feed)
        assert [next(received), next(received)] == [
            Sse("hello", {"after": start}, start),
            Sse("reset", {"after": start, "last_event_id": 0}, None),
        ]
        first = next(received)
        assert first.id is not None and start < first.id <= newest


@pytest.mark.slow
def test_a_hundred_clients_receive_the_same_completion(engine: Engine, plant: Plant) -> None:
    viewers = [create_token(engine, "viewer").token for _ in range(10)]
    operator = create_token(engine, "operator").token
    events = _cars(plant, 1)
    vin = next(event.vin for event in events if isinstance(event, UnitCompleted))

    async def clients(url: str) -> list[Sse]:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        async with AsyncExitStack() as stack:
            client = await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, timeout=GUARD_S, limits=limits)
            )
            feeds = []
            for number in range(100):
                token = viewers[number % 10]  # ten streams a token: its cap
                by_header = number % 2 == 0
                feed = await stack.enter_async_context(
                    client.stream(
                        "GET",
                        "/api/v1/stream",
                        headers={"Authorization": f"Bearer {token}"} if by_header else {},
                        params={} if by_header else {"access_token": token},
                    )
                )
                assert feed.status_code == 200
                feeds.append(feed.aiter_lines())
            for lines in feeds:
                assert (await _next_event(lines)).event == "hello"
            posted = await client.post(
                "/api/v1/events",
                content=_ndjson(events),
                headers={
                    "Authorization": f"Bearer {operator}",
                    "Content-Type": "application/x-ndjson",
                },
            )
            assert posted.json()["accepted"] == len(events)
            return list(await asyncio.gather(*(_completion(lines) for lines in feeds)))

    with running_server(engine, QUICK) as url:
        completions = asyncio.run(clients(url))
    assert len(completions) == 100
    assert {(c.event, c.data["vin"], c.data["number"]) for c in completions} == {
        ("completion", vin, 1)
    }


async def _next_event(lines: AsyncIterator[str]) -> Sse:
    block: list[str] = []
    async for line in lines:
        block.append(line)
        if not line and any(part.startswith("event: ") for part in block):
            return next(parse(block))
    raise AssertionError("the stream ended")


async def _completion(lines: AsyncIterator[str]) -> Sse:
    while (message := await _next_event(lines)).event != "completion":
        assert message.event != "end", message
    return message


def test_streams_end_when_the_server_stops(engine: Engine) -> None:
    viewer = create_token(engine, "viewer").token
    received: list[Sse] = []
    with running_server(engine, QUICK) as url:
        opened = threading.Event()

        def listen() -> None:
            with (
                httpx.Client(base_url=url, timeout=GUARD_S) as client,
                client.stream("GET", "/api/v1/stream", params={"access_token": viewer}) as feed,
            ):
                for message in _events(feed):
                    received.append(message)
                    opened.set()

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        assert opened.wait(GUARD_S)
    listener.join(GUARD_S)
    assert not listener.is_alive()
    assert [message.event for message in received] == ["hello", "end"]
    assert received[-1].data == {"reason": "server.stopping"}
