"""Feed messages framed as server-sent events, encoded once and shared by every stream.

A `FeedChunk` is the SSE text of the messages of one stretch of the event log, `(after,
last]`. Every stream that needs that stretch sends the same bytes; one that has already
seen part of it sends the rest (`FeedChunk.after`), so a chunk is encoded once however
many streams carry it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from linespeed.live.feed import FeedMessage

_encode: Final = msgspec.json.Encoder().encode


def sse_event(event: str, data: dict[str, Any], seq: int | None = None) -> bytes:
    """One server-sent event; with `seq`, its `id` (what the client resumes after)."""
    head = b"" if seq is None else b"id: %d\n" % seq
    return head + b"event: " + event.encode() + b"\ndata: " + _encode(data) + b"\n\n"


@dataclass(frozen=True)
class FeedChunk:
    """The SSE text of the feed messages of the events `(after, last]`."""

    after: int
    last: int
    seqs: tuple[int, ...]
    """Each message's sequence number, ascending (a milestone repeats its completion's)."""
    offsets: tuple[int, ...]
    """Where each message starts in `text`."""
    text: bytes

    @classmethod
    def of(cls, after: int, last: int, messages: Sequence[FeedMessage]) -> FeedChunk:
        """The chunk of `messages`, which are those of the events `(after, last]`."""
        parts = [sse_event(message.event, message.data, message.seq) for message in messages]
        offsets: list[int] = []
        size = 0
        for part in parts:
            offsets.append(size)
            size += len(part)
        seqs = tuple(message.seq for message in messages)
        return cls(after, last, seqs, tuple(offsets), b"".join(parts))

    def since(self, seen: int) -> bytes:
        """The text of the messages after sequence number `seen` (all of them if `seen` is
        before the chunk, nothing if it is past it)."""
        first = bisect_right(self.seqs, seen)
        if first >= len(self.seqs):
            return b""
        return self.text[self.offsets[first] :]
