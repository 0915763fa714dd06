"""One poller per server feeds every open live stream.

While at least one stream is open, the poller reads `max(seq)` once per `poll_s`; only when
it moved does it read the new events' feed messages (in windows of WINDOW_EVENTS events, in
a worker thread), encode them once and put the same chunk in every stream's bounded queue.
A stream whose queue is full is too slow to keep up: it is ended (`stream.slow`), and its
client reconnects with `Last-Event-ID` and resumes. Every `token_check_s` the poller asks
which tokens of the open streams are still active, in one query, and ends the streams of the
others (`token.revoked`). With no stream open it reads nothing.

Streams are capped per token and in total (TooManyStreamsError beyond). A stream resuming
after sequence number N replays at most `replay_events` events behind the newest: asked for
more, it starts there and says so first with a `reset` event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Final

import anyio.to_thread
from sqlalchemy import Engine

from linespeed.access.tokens import active_token_ids
from linespeed.errors import LinespeedError
from linespeed.live.errors import TooManyStreamsError
from linespeed.live.feed import last_seq
from linespeed.live.replay import WINDOW_EVENTS, ReplayWindows, read_chunk
from linespeed.live.sse import FeedChunk
from linespeed.live.subscription import Subscription

REPLAY_EVENTS: Final = 10_000
"""A resuming stream replays at most this many events behind the newest."""
QUEUE_CHUNKS: Final = 64
"""Chunks a stream may fall behind the poller before it is ended as too slow."""
KEEP_ALIVE_S: Final = 15.0
OPENING_AT_ONCE: Final = 2
"""Streams being admitted (token read, replay planned) at the same time, at most."""
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamSettings:
    """How the live feed polls, and how many streams it keeps.

    Raises LinespeedError (stream.settings) naming the first value out of range.
    """

    poll_s: float = 0.5
    max_streams: int = 500
    max_streams_per_token: int = 10
    token_check_s: float = 5.0
    """How often the tokens of open streams are checked for revocation."""
    replay_events: int = REPLAY_EVENTS
    queue_chunks: int = QUEUE_CHUNKS
    keep_alive_s: float = KEEP_ALIVE_S

    def __post_init__(self) -> None:
        for name in ("poll_s", "token_check_s", "keep_alive_s"):
            if not getattr(self, name) > 0:
                raise LinespeedError(
                    f"{name}(={getattr(self, name)}) must be > 0", code="stream.settings"
                )
        for name in ("max_streams", "max_streams_per_token", "replay_events", "queue_chunks"):
            if getattr(self, name) < 1:
                raise LinespeedError(
                    f"{name}(={getattr(self, name)}) must be >= 1", code="stream.settings"
                )


class FeedPoller:
    """The shared poller of one server's live streams (see the module docstring).

    Runs on the server's event loop: `open` starts it with the first stream; `stop` ends
    every stream and the poller (at server shutdown). `closing`, asked at each tick, says
    the server is stopping: the poller then ends every stream.
    """

    def __init__(
        self,
        engine: Engine,
        settings: StreamSettings = StreamSettings(),
        *,
        closing: Callable[[], bool] = lambda: False,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self._closing = closing
        self._open: set[Subscription] = set()
        """Every stream holding a slot, until its response ends."""
        self._fed: set[Subscription] = set()
        """The open streams the poller still feeds (not ended)."""
        self._per_token: Counter[int] = Counter()
        self._head: int | None = None
        """The newest sequence number fanned out to the streams (None: not read yet)."""
        self._checked_at = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._admitting = asyncio.Semaphore(OPENING_AT_ONCE)
        self._stopped = False
        self.windows = ReplayWindows(engine)

    @property
    def open_streams(self) -> int:
        """How many streams are open (each holds a slot until its response ends)."""
        return len(self._open)

    @asynccontextmanager
    async def admitting(self) -> AsyncIterator[None]:
        """Wait for a turn to admit a stream (authenticate it, then `open` it): when many
        clients reconnect at once, they take turns instead of filling the worker threads
        that every other request needs."""
        self._bind_loop()
        async with self._admitting:
            yield

    async def open(self, token_id: int, last_event_id: int | None) -> Subscription:
        """Open a stream for `token_id`, resuming after `last_event_id` (None: from now).

        Raises TooManyStreamsError if the token, or the server, has the most streams open.
        """
        self._reserve(token_id)
        try:
            self._start()
            head = self._head
            if head is None or not self._fed or (last_event_id or 0) > head:
                # Idle, the head is stale; ahead of it, another server may be ahead of us.
                newest = await anyio.to_thread.run_sync(last_seq, self.engine)
                self._head = head = max(self._head or 0, newest)
        except BaseException:
            self._per_token[token_id] -= 1
            raise
        start = head if last_event_id is None else min(last_event_id, head)
        start = max(start, head - self.settings.replay_events)
        reset = last_event_id is not None and start != last_event_id
        subscription = Subscription(
            self,
            token_id,
            start=start,
            replay_until=head,
            reset_from=last_event_id if reset else None,
            queue_chunks=self.settings.queue_chunks,
            keep_alive_s=self.settings.keep_alive_s,
        )
        self._open.add(subscription)
        self._fed.add(subscription)
        self._wake.set()
        if self._stopped or self._closing():
            subscription.end("server.stopping")
        return subscription

    def release(self, subscription: Subscription) -> None:
        """Give back the slot of a stream whose response ended (harmless twice)."""
        if subscription in self._open:
            self._open.discard(subscription)
            self._fed.discard(subscription)
            self._per_token[subscription.token_id] -= 1
            if self._per_token[subscription.token_id] <= 0:
                del self._per_token[subscription.token_id]

    async def tick(self) -> None:
        """One poll: read `max(seq)`; if it moved, read the new messages and fan them out;
        end streams whose token is no longer active when a check is due. Raises what
        reading the store raises."""
        if self._closing():
            self._end_all("server.stopping")
            return
        newest = await anyio.to_thread.run_sync(last_seq, self.engine)
        after = newest if self._head is None else self._head
        while after < newest and self._fed:
            until = min(newest, after + WINDOW_EVENTS)
            chunk = await anyio.to_thread.run_sync(read_chunk, self.engine, after, until)
            self._head = max(self._head or 0, until)
            self._fan_out(chunk)
            after = until
        self._head = max(self._head or 0, newest)
        if self._fed and time.monotonic() - self._checked_at >= self.settings.token_check_s:
            await self._check_tokens()

    async def stop(self) -> None:
        """End every stream and the poller (the server is stopping)."""
        self._stopped = True
        self._end_all("server.stopping")
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _reserve(self, token_id: int) -> None:
        limits = self.settings
        if len(self._open) >= limits.max_streams:
            raise TooManyStreamsError(
                f"this server keeps at most {limits.max_streams} live streams open, and all "
                "are taken; try again later"
            )
        if self._per_token[token_id] >= limits.max_streams_per_token:
            raise TooManyStreamsError(
                f"token {token_id} has {self._per_token[token_id]} live streams open, the most "
                "one token may; close one first"
            )
        self._per_token[token_id] += 1

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (a test client's): new loop-bound parts
            self._wake = asyncio.Event()
            self._admitting = asyncio.Semaphore(OPENING_AT_ONCE)
            self.windows = ReplayWindows(self.engine)
            self._loop = loop
            self._stopped = False
        return loop

    def _start(self) -> None:
        loop = self._bind_loop()
        if self._stopped or (self._task is not None and not self._task.done()):
            return
        self._task = loop.create_task(self._run(), name="linespeed-live-poller")

    async def _run(self) -> None:
        while not self._stopped:
            if not self._fed:
                self._wake.clear()
                await self._wake.wait()
                continue
            await asyncio.sleep(self.settings.poll_s)
            try:
                await self.tick()
            except Exception:
                _log.warning("the live feed could not read the store; trying again", exc_info=True)

    def _fan_out(self, chunk: FeedChunk) -> None:
        if not chunk.seqs:
            return
        for subscription in list(self._fed):
            if not subscription.offer(chunk):
                self._end(subscription, "stream.slow")

    async def _check_tokens(self) -> None:
        self._checked_at = time.monotonic()
        token_ids = {subscription.token_id for subscription in self._fed}
        active = await anyio.to_thread.run_sync(active_token_ids, self.engine, token_ids)
        for subscription in list(self._fed):
            # Streams opened during the query are not judged by it.
            if subscription.token_id in token_ids and subscription.token_id not in active:
                self._end(subscription, "token.revoked")

    def _end(self, subscription: Subscription, reason: str) -> None:
        self._fed.discard(subscription)
        subscription.end(reason)

    def _end_all(self, reason: str) -> None:
        for subscription in list(self._fed):
            self._end(subscription, reason)
