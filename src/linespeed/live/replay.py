"""Replays of the feed, read in fixed windows of the event log that every stream shares.

A stream resuming after sequence number N replays `(N, head]` window by window; windows are
aligned to multiples of WINDOW_EVENTS, so two hundred streams resuming from about the same
place ask for the same windows. Each window is read once, in a worker thread, by at most
REPLAY_READERS reads at a time (the rest of the server keeps its threads), and is kept in a
small cache: streams asking for a window being read wait for that read.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Final

import anyio.to_thread
from sqlalchemy import Engine

from linespeed.live.feed import feed_after
from linespeed.live.sse import FeedChunk

WINDOW_EVENTS: Final = 1_000
"""Events per read of the event log (so per replay window, and per step of the poller)."""
REPLAY_READERS: Final = 2
"""Replay windows read at the same time, at most."""
CACHED_WINDOWS: Final = 32


def read_chunk(engine: Engine, after: int, until: int) -> FeedChunk:
    """The feed messages of the events `(after, until]`, as SSE text (one query).

    Raises LinespeedError (feed.input) if `after` is negative or `until` is below it.
    """
    messages, _ = feed_after(engine, after, max(1, until - after), until=until)
    return FeedChunk.of(after, until, messages)


class ReplayWindows:
    """Reads replay windows once and shares them between streams."""

    def __init__(self, engine: Engine, window_events: int = WINDOW_EVENTS) -> None:
        self._engine = engine
        self._window_events = window_events
        self._readers = asyncio.Semaphore(REPLAY_READERS)
        self._cached: OrderedDict[tuple[int, int], FeedChunk] = OrderedDict()
        self._reading: dict[tuple[int, int], asyncio.Task[FeedChunk]] = {}

    async def replay(self, after: int, until: int) -> AsyncIterator[FeedChunk]:
        """The chunks covering `(after, until]` in order (the first may start before
        `after`: send it with `FeedChunk.since`). Raises what reading the store raises."""
        low = after - after % self._window_events
        while low < until:
            high = min(low + self._window_events, until)
            yield await self._window(low, high)
            low = high

    async def _window(self, low: int, high: int) -> FeedChunk:
        key = (low, high)
        chunk = self._cached.get(key)
        if chunk is not None:
            self._cached.move_to_end(key)
            return chunk
        reading = self._reading.get(key)
        if reading is None:
            # A task of its own, so a stream that goes away does not cancel the others' read.
            reading = asyncio.ensure_future(self._read(key))
            reading.add_done_callback(_retrieve)
            self._reading[key] = reading
        return await asyncio.shield(reading)

    async def _read(self, key: tuple[int, int]) -> FeedChunk:
        try:
            async with self._readers:
                chunk = await anyio.to_thread.run_sync(read_chunk, self._engine, *key)
        finally:
            del self._reading[key]
        self._cached[key] = chunk
        while len(self._cached) > CACHED_WINDOWS:
            self._cached.popitem(last=False)
        return chunk


def _retrieve(task: asyncio.Task[FeedChunk]) -> None:
    """Mark a failed read's error as seen (every waiting stream got it already)."""
    if not task.cancelled():
        task.exception()
