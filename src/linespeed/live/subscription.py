"""One open live stream: its replay, then what the shared poller hands it, as SSE bytes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Final

from linespeed.live.sse import FeedChunk, sse_event

if TYPE_CHECKING:
    from linespeed.live.poller import FeedPoller

RETRY_MS: Final = 2000
"""How long a client waits before reconnecting (the SSE `retry` field)."""
REPLAY_WRITE_BYTES: Final = 256 * 1024
_log = logging.getLogger(__name__)


class Subscription:
    """A stream opened with `FeedPoller.open`: send `sse()` to the client, then `close()`.

    It first says `hello` (and `reset` when the replay it asked for was cut), replays the
    events after its start up to the poller's head at opening, then follows the poller.
    It ends with an `end` event when the poller ends it (`stream.slow`, `token.revoked`,
    `server.stopping`) or a replay read fails (`store.error`).
    """

    def __init__(
        self,
        poller: FeedPoller,
        token_id: int,
        *,
        start: int,
        replay_until: int,
        reset_from: int | None,
        queue_chunks: int,
        keep_alive_s: float,
    ) -> None:
        self.token_id = token_id
        self.start = start
        """The sequence number the stream starts after."""
        self.reset_from = reset_from
        """The Last-Event-ID asked for, when the stream could not start there."""
        self.end_reason: str | None = None
        self._poller = poller
        self._replay_until = replay_until
        self._keep_alive_s = keep_alive_s
        self._queue: asyncio.Queue[FeedChunk | None] = asyncio.Queue(maxsize=queue_chunks)

    def offer(self, chunk: FeedChunk) -> bool:
        """Queue a chunk for the stream; False if its queue is full (it is too slow)."""
        try:
            self._queue.put_nowait(chunk)
        except asyncio.QueueFull:
            return False
        return True

    def end(self, reason: str) -> None:
        """End the stream after an `end` event naming `reason`; what is queued is dropped
        (the client resumes from the last message it got). Harmless twice."""
        if self.end_reason is not None:
            return
        self.end_reason = reason
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    def close(self) -> None:
        """Give the stream's slot back (its response ended). Harmless twice."""
        self._poller.release(self)

    async def sse(self) -> AsyncIterator[bytes]:
        """The stream's server-sent events, until it is ended."""
        seen = self.start
        hello = sse_event("hello", {"after": seen}, seen)
        yield b"retry: %d\n" % RETRY_MS + hello
        if self.reset_from is not None:
            yield sse_event("reset", {"after": seen, "last_event_id": self.reset_from})
        pending: list[bytes] = []  # the replay goes out in a few large writes, not many small
        try:
            async for chunk in self._poller.windows.replay(seen, self._replay_until):
                if self.end_reason is not None:
                    break
                pending.append(chunk.since(seen))
                seen = max(seen, chunk.last)
                if sum(map(len, pending)) >= REPLAY_WRITE_BYTES:
                    yield b"".join(pending)
                    pending = []
        except Exception:
            _log.warning("a live stream's replay could not read the store", exc_info=True)
            self.end("store.error")
        if any(pending):
            yield b"".join(pending)
        while True:
            try:
                chunk_or_end = await asyncio.wait_for(self._queue.get(), self._keep_alive_s)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            if chunk_or_end is None:
                yield sse_event("end", {"reason": self.end_reason})
                return
            text = chunk_or_end.since(seen)
            seen = max(seen, chunk_or_end.last)
            if text:
                yield text
