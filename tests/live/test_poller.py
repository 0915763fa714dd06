"""The shared poller: one read per tick for any number of streams, caps, bounded replays,
revoked tokens and slow streams ended, shared replay reads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Collection, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine

from linespeed.access.tokens import active_token_ids, create_token, revoke_token
from linespeed.events.types import Event
from linespeed.live import FeedPoller, StreamSettings, TooManyStreamsError, feed_after, last_seq
from linespeed.live import poller as poller_module
from linespeed.live.replay import ReplayWindows
from linespeed.plant.model import Plant
from linespeed.sim.example import ExampleSettings, example_events
from tests.conftest import ingest, make_store
from tests.live.sse import FEED_EVENTS, GUARD_S, Sse, SseReader, statements_on

MAX_SEQ_SQL = "SELECT max(seq) FROM events"
FEED_SQL = "FROM events e LEFT JOIN units u"
QUIET: dict[str, Any] = {"poll_s": 3600.0, "token_check_s": 3600.0}
"""The poller's own loop never ticks within a test: the test ticks it."""


@pytest.fixture
def store(db_url: str, plant: Plant) -> Iterator[Engine]:
    """An empty store with the default plant."""
    engine = make_store(db_url, plant)
    yield engine
    engine.dispose()


def cars(plant: Plant, count: int, first: int = 1) -> list[Event]:
    """The example events of `count` cars, numbered from `first`."""
    settings = ExampleSettings(cars=count, first_number=first, id_prefix=f"ex{first}")
    return list(example_events(plant, settings))


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `test` on an event loop of its own thread: the browser tests' session-long
    Playwright keeps a loop running in the main thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, test()).result()


def messages(events: list[Sse]) -> list[tuple[int | None, str, Any]]:
    """The feed messages among `events`, as (id, event, vin or station)."""
    return [
        (e.id, e.event, e.data.get("vin") or e.data.get("station"))
        for e in events
        if e.event in FEED_EVENTS
    ]


def expected(store: Engine, after: int) -> list[tuple[int | None, str, Any]]:
    """What `feed_after` says happened after `after`, in the same shape."""
    found, _ = feed_after(store, after, limit=10**6)
    return [(m.seq, m.event, m.data.get("vin") or m.data.get("station")) for m in found]


def test_one_read_per_tick_however_many_streams_are_open(store: Engine, plant: Plant) -> None:
    token = create_token(store, "viewer")
    ingest(store, cars(plant, 1))
    reads: dict[int, tuple[list[str], list[str]]] = {}

    async def test() -> None:
        for count in (1, 40):
            poller = FeedPoller(store, StreamSettings(**QUIET, max_streams_per_token=40))
            streams = [await poller.open(token.id, None) for _ in range(count)]
            readers = [SseReader(stream.sse()) for stream in streams]
            for reader in readers:
                assert (await reader.next()) is not None  # hello
            await poller.tick()  # the first tick also checks the tokens
            before = last_seq(store)
            with statements_on(store) as idle:
                for _ in range(3):
                    await poller.tick()
            ingest(store, cars(plant, 1, first=count + 1))
            with statements_on(store) as news:
                await poller.tick()
            reads[count] = (idle, news)
            news_after = expected(store, before)
            for reader in readers:
                assert messages(await reader.feed(len(news_after))) == news_after
            await poller.stop()

    run(test)
    assert reads[1][0] == reads[40][0] == [MAX_SEQ_SQL] * 3
    assert reads[1][1] == reads[40][1]
    assert sum(FEED_SQL in statement for statement in reads[40][1]) == 1


@pytest.mark.slow
def test_nothing_is_read_while_no_stream_is_open(store: Engine) -> None:
    token = create_token(store, "viewer")

    async def test() -> None:
        poller = FeedPoller(store, StreamSettings(poll_s=0.01, token_check_s=0.01))
        stream = await poller.open(token.id, None)
        with statements_on(store) as open_reads:
            await asyncio.sleep(0.3)
        stream.close()
        await asyncio.sleep(0.2)  # a poll under way finishes
        with statements_on(store) as closed_reads:
            await asyncio.sleep(0.3)
        await poller.stop()
        assert MAX_SEQ_SQL in open_reads
        assert closed_reads == []

    run(test)


@pytest.mark.slow
def test_streams_are_capped_per_token_and_in_total(store: Engine) -> None:
    first, second, third = (create_token(store, "viewer").id for _ in range(3))

    async def test() -> None:
        poller = FeedPoller(store, StreamSettings(**QUIET, max_streams=3, max_streams_per_token=2))
        mine = [await poller.open(first, None), await poller.open(first, None)]
        with pytest.raises(TooManyStreamsError, match=f"token {first} has 2 live streams open"):
            await poller.open(first, None)
        await poller.open(second, None)
        with pytest.raises(TooManyStreamsError, match="at most 3 live streams") as refused:
            await poller.open(third, None)
        assert refused.value.code == "stream.too_many"
        assert poller.open_streams == 3
        mine[0].close()
        mine[0].close()  # twice is harmless
        await poller.open(third, None)
        assert poller.open_streams == 3
        mine[1].close()
        await poller.open(first, None)
        await poller.stop()

    run(test)


def test_a_revoked_tokens_streams_end_and_the_others_go_on(store: Engine, plant: Plant) -> None:
    kept, revoked = create_token(store, "viewer"), create_token(store, "viewer")

    async def test() -> None:
        poller = FeedPoller(store, StreamSettings(poll_s=3600, token_check_s=0.001))
        going, ending = await poller.open(kept.id, None), await poller.open(revoked.id, None)
        stays, goes = SseReader(going.sse()), SseReader(ending.sse())
        assert [(await stays.next()), (await goes.next())] != [None, None]
        await poller.tick()
        revoke_token(store, revoked.id)
        ingest(store, cars(plant, 1))
        await poller.tick()
        ended = await goes.until("end")
        assert ended[-1].event == "end"
        assert ended[-1].data == {"reason": "token.revoked"}
        assert await goes.next() is None
        assert messages(ended) == []  # what was news after the revocation never reaches it
        assert messages(await stays.feed(len(expected(store, 0)))) == expected(store, 0)
        await poller.stop()

    run(test)


def test_a_slow_stream_is_ended_without_holding_up_the_others(store: Engine, plant: Plant) -> None:
    token = create_token(store, "viewer")

    async def test() -> None:
        poller = FeedPoller(store, StreamSettings(**QUIET, queue_chunks=2))
        slow, quick = await poller.open(token.id, None), await poller.open(token.id, None)
        slow_reader, quick_reader = SseReader(slow.sse()), SseReader(quick.sse())
        await slow_reader.next()  # hello, then it reads no more
        await quick_reader.next()
        got: list[Sse] = []
        for number in range(1, 5):
            ingest(store, cars(plant, 1, first=number))
            await poller.tick()
            got += await quick_reader.feed(len(expected(store, 0)) - len(got))
        assert messages(got) == expected(store, 0)
        assert slow.end_reason == "stream.slow"
        left = await slow_reader.until("end")
        assert [event.event for event in left] == ["end"]
        assert left[0].data == {"reason": "stream.slow"}
        assert quick.end_reason is None
        await poller.stop()
        assert messages(await quick_reader.until("end")) == []
        assert quick.end_reason == "server.stopping"

    run(test)


def test_a_replay_is_bounded_and_starts_with_a_reset(store: Engine, plant: Plant) -> None:
    token = create_token(store, "viewer")
    ingest(store, cars(plant, 3))
    newest = last_seq(store)

    async def test() -> None:
        poller = FeedPoller(store, StreamSettings(**QUIET, replay_events=50))
        cut = SseReader((await poller.open(token.id, 0)).sse())
        start = newest - 50
        first = [await cut.next(), await cut.next()]
        assert first == [
            Sse("hello", {"after": start}, start),
            Sse("reset", {"after": start, "last_event_id": 0}, None),
        ]
        inside = SseReader((await poller.open(token.id, newest - 30)).sse())
        assert await inside.next() == Sse("hello", {"after": newest - 30}, newest - 30)
        ahead = SseReader((await poller.open(token.id, newest + 1000)).sse())
        assert [await ahead.next(), await ahead.next()] == [
            Sse("hello", {"after": newest}, newest),
            Sse("reset", {"after": newest, "last_event_id": newest + 1000}, None),
        ]
        ingest(store, cars(plant, 1, first=4))
        await poller.tick()
        for reader, after in ((cut, start), (inside, newest - 30), (ahead, newest)):
            assert messages(await reader.feed(len(expected(store, after)))) == expected(
                store, after
            )
        await poller.stop()

    run(test)


def test_streams_resuming_together_share_their_replay_reads(store: Engine, plant: Plant) -> None:
    token = create_token(store, "viewer")
    ingest(store, cars(plant, 3))

    async def test() -> None:
        poller = FeedPoller(store, StreamSettings(**QUIET, max_streams_per_token=20))
        streams = [await poller.open(token.id, 0) for _ in range(20)]

        everything = expected(store, 0)

        async def replay(reader: SseReader) -> list[Sse]:
            return await reader.feed(len(everything))

        with statements_on(store) as reads:
            replays = await asyncio.gather(*(replay(SseReader(s.sse())) for s in streams))
        assert sum(FEED_SQL in statement for statement in reads) == 1
        assert all(messages(got) == everything != [] for got in replays)
        await poller.stop()

    run(test)


def test_replay_windows_are_read_once_and_cover_the_log(store: Engine, plant: Plant) -> None:
    ingest(store, cars(plant, 3))
    newest = last_seq(store)

    async def test() -> None:
        windows = ReplayWindows(store, window_events=100)

        async def replay(after: int) -> bytes:
            text = b""
            async for chunk in windows.replay(after, newest):
                text += chunk.since(after)
            return text

        with statements_on(store) as reads:
            texts = await asyncio.gather(*(replay(after) for after in (0, 0, 0, 150, 150)))
        assert sum(FEED_SQL in statement for statement in reads) == -(-newest // 100)
        assert texts[0] == texts[1] == texts[2]
        assert texts[0].count(b"event: ") == len(expected(store, 0))
        assert texts[3].count(b"event: ") == len(expected(store, 150))

    run(test)


def test_streams_end_when_the_server_stops(store: Engine) -> None:
    token = create_token(store, "viewer")
    closing = False

    async def test() -> None:
        nonlocal closing
        poller = FeedPoller(store, StreamSettings(**QUIET), closing=lambda: closing)
        reader = SseReader((await poller.open(token.id, None)).sse())
        closing = True
        await poller.tick()
        assert [event.event for event in await reader.until("end")] == ["hello", "end"]
        assert await reader.next() is None
        late = SseReader((await poller.open(token.id, None)).sse())
        assert [e.data for e in await late.until("end")][-1] == {"reason": "server.stopping"}
        await poller.stop()

    run(test)


def test_a_stream_opened_during_a_token_check_is_not_ended_by_it(
    store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = create_token(store, "viewer"), create_token(store, "viewer")
    checking, answer = threading.Event(), threading.Event()

    def slow_check(engine: Engine, token_ids: Collection[int]) -> set[int]:
        checking.set()
        answer.wait(GUARD_S)
        return active_token_ids(engine, token_ids)

    monkeypatch.setattr(poller_module, "active_token_ids", slow_check)

    async def test() -> None:
        poller = FeedPoller(store, StreamSettings(poll_s=3600, token_check_s=0.001))
        early = await poller.open(first.id, None)
        tick = asyncio.create_task(poller.tick())
        assert await asyncio.to_thread(checking.wait, GUARD_S)
        late = await poller.open(second.id, None)
        answer.set()
        await tick
        assert (early.end_reason, late.end_reason) == (None, None)
        await poller.stop()

    run(test)
