"""Reading server-sent events in tests: from a subscription's bytes or an HTTP stream."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event

_CONTROL = frozenset({"BEGIN", "COMMIT", "ROLLBACK"})
FEED_EVENTS = frozenset({"completion", "milestone", "station-state"})
GUARD_S = 30.0
"""How long a read may wait before the test fails instead of hanging (not a timing check)."""


@dataclass(frozen=True)
class Sse:
    """One server-sent event."""

    event: str
    data: dict[str, Any]
    id: int | None


def parse(lines: Iterable[str]) -> Iterator[Sse]:
    """The events of SSE text given line by line (comments skipped)."""
    name, data, seq = "", "", None
    for line in lines:
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line.startswith("id: "):
            seq = int(line[4:])
        elif not line and name:
            yield Sse(name, json.loads(data), seq)
            name, data, seq = "", "", None


class SseReader:
    """The events of an async stream of SSE bytes, one at a time."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = ""
        self._ready: deque[Sse] = deque()
        self.ended = False

    async def next(self) -> Sse | None:
        """The next event; None once the stream has ended."""
        while not self._ready:
            if self.ended:
                return None
            try:
                chunk = await asyncio.wait_for(anext(self._chunks), GUARD_S)
            except StopAsyncIteration:
                self.ended = True
                continue
            self._buffer += chunk.decode()
            complete, _, self._buffer = self._buffer.rpartition("\n\n")
            if complete:
                self._ready.extend(parse((complete + "\n\n").split("\n")))
        return self._ready.popleft()

    async def until(self, name: str) -> list[Sse]:
        """Every event up to and with the first named `name` (all of them if it never comes)."""
        seen: list[Sse] = []
        while (item := await self.next()) is not None:
            seen.append(item)
            if item.event == name:
                break
        return seen

    async def feed(self, count: int) -> list[Sse]:
        """The next `count` feed messages (completion, milestone, station-state), skipping
        other events; fewer if the stream ends first."""
        found: list[Sse] = []
        while len(found) < count and (item := await self.next()) is not None:
            if item.event in FEED_EVENTS:
                found.append(item)
        return found


@contextmanager
def statements_on(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements `engine` executes inside the block, in order (without the
    transaction control some backends send: BEGIN, COMMIT, ROLLBACK)."""
    seen: list[str] = []

    def note(*args: Any) -> None:
        statement = " ".join(str(args[2]).split())
        if statement.upper() not in _CONTROL:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)
