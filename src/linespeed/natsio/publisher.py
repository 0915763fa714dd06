"""Publishing to JetStream as a line does: pipelined, acknowledged, with message ids.

`JetStreamPublisher` sends messages back to back, each with a reply subject of its own
and the event's idempotency key as `Nats-Msg-Id`, and reads JetStream's acknowledgements as
they come; at most `window` are unacknowledged at a time. A message not acknowledged in
time (a leader election, a reconnect) is sent again, with every later one, in order: the
stream's duplicate window drops what it already holds, so a resend never stores twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from linespeed.natsio.server import NatsError, connect
from linespeed.natsio.subjects import MSG_ID_HEADER, events_subject, message_id
from linespeed.natsio.sync import run_sync

DEFAULT_WINDOW: Final = 2_000
"""Messages sent ahead of JetStream's acknowledgements."""
ACK_TIMEOUT_S: Final = 3.0
"""How long an acknowledgement may take before the message is sent again."""
GIVE_UP_S: Final = 60.0
"""How long without any acknowledgement before publishing fails."""
NO_STREAM_S: Final = 5.0
"""How long JetStream may answer that no stream captures a subject before publishing fails."""
_NO_RESPONDERS: Final = "503"


@dataclass
class _Pending:
    subject: str
    payload: bytes
    headers: dict[str, str]
    sent_at: float


class JetStreamPublisher:
    """Publishes messages to JetStream in order over one connection, `window` at a time.

    Not for several tasks at once: one task calls `publish` and `drain`.
    """

    def __init__(self, client: Client, *, window: int = DEFAULT_WINDOW) -> None:
        """Raises NatsError if `window` is below 1."""
        if window < 1:
            raise NatsError(f"the publish window must be >= 1, got {window}")
        self.client = client
        self.window = window
        self.acknowledged = 0
        self.duplicates = 0
        """Messages JetStream acknowledged as already held (sent again after a lost ack)."""
        self.resent = 0
        self._pending: dict[int, _Pending] = {}
        self._next = 0
        self._prefix = ""
        self._subscription: Subscription | None = None
        self._room = asyncio.Event()
        self._trouble_at: float | None = None
        self._no_stream_since: float | None = None
        self._progress_at = time.monotonic()

    async def publish(self, subject: str, payload: bytes, msg_id: str) -> None:
        """Send `payload` to `subject` with `msg_id`; waits while `window` are unacknowledged.

        Raises NatsError if JetStream acknowledges nothing for a minute (no stream captures
        the subject, or the server is gone).
        """
        if self._subscription is None:
            self._prefix = f"{self.client.new_inbox()}."
            self._subscription = await self.client.subscribe(f"{self._prefix}*", cb=self._acked)
        while len(self._pending) >= self.window:
            await self._wait()
        self._next += 1
        pending = _Pending(subject, payload, {MSG_ID_HEADER: msg_id}, time.monotonic())
        self._pending[self._next] = pending
        await self._send(self._next, pending)

    async def drain(self) -> None:
        """Wait until JetStream has acknowledged every message. Raises NatsError as `publish`."""
        while self._pending:
            await self._wait()

    async def close(self) -> None:
        """Stop reading acknowledgements (`drain` first: what is unacknowledged is dropped)."""
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None

    async def _send(self, token: int, pending: _Pending) -> None:
        await self.client.publish(
            pending.subject,
            pending.payload,
            reply=f"{self._prefix}{token}",
            headers=pending.headers,
        )

    async def _acked(self, msg: Msg) -> None:
        token = int(msg.subject[len(self._prefix) :])
        if token not in self._pending:
            return  # a late acknowledgement of a message sent again and already acknowledged
        status = (msg.headers or {}).get("Status")
        if status == _NO_RESPONDERS or not msg.data:
            self._trouble_at = self._trouble_at or time.monotonic()
            self._no_stream_since = self._no_stream_since or time.monotonic()
            return
        try:
            answer = json.loads(msg.data)
        except ValueError:
            answer = {"error": {"description": msg.data[:200].decode(errors="replace")}}
        if "error" in answer:
            self._trouble_at = self._trouble_at or time.monotonic()
            return
        del self._pending[token]
        self._no_stream_since = None
        self.acknowledged += 1
        self.duplicates += bool(answer.get("duplicate"))
        self._progress_at = time.monotonic()
        self._room.set()

    async def _wait(self) -> None:
        """Wait for acknowledgements; send everything unacknowledged again when one is late."""
        self._room.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._room.wait(), 0.25)
        now = time.monotonic()
        if self._no_stream_since is not None and now - self._no_stream_since > NO_STREAM_S:
            subject = next(iter(self._pending.values())).subject
            raise NatsError(
                f"no JetStream stream captures {subject}: set the plant's stream up first"
                " (`linespeed nats setup --plant ID`)"
            )
        if now - self._progress_at > GIVE_UP_S:
            subject = next(iter(self._pending.values())).subject
            raise NatsError(
                f"JetStream acknowledged nothing for {GIVE_UP_S:g} s ({len(self._pending)}"
                f" messages waiting, the first to {subject}): is the server up, and does a"
                " stream capture the subject (`linespeed nats setup`)?"
            )
        oldest = next(iter(self._pending.values()), None)
        late = oldest is not None and now - oldest.sent_at > ACK_TIMEOUT_S
        troubled = self._trouble_at is not None and now - self._trouble_at > 0.5
        if (late or troubled) and self.client.is_connected:
            self._trouble_at = None
            for token, pending in list(self._pending.items()):
                pending.sent_at = now
                self.resent += 1
                await self._send(token, pending)


class _Route(msgspec.Struct):
    """What decides an event's subject, message id and moment (other fields ignored)."""

    id: str
    ts: datetime
    line: str | None = None
    station: str | None = None


_route = msgspec.json.Decoder(_Route)


@dataclass
class PublishReport:
    """How many events JetStream acknowledged, how many as already held, and how long it took."""

    published: int = 0
    duplicates: int = 0
    resent: int = 0
    seconds: float = 0.0


def publish_event_lines(
    lines: Iterable[bytes],
    server_url: str,
    plant: str,
    *,
    speed: float = 0.0,
    default_line: str | None = None,
    window: int = DEFAULT_WINDOW,
    progress: Callable[[int], None] | None = None,
) -> PublishReport:
    """Publish JSON event lines to `linespeed.v1.<plant>.<line>.<station>.events` on JetStream.

    Each message's id is the event's idempotency key (`subjects.message_id`). Paced by the
    events' `ts` at `speed` times real time (0: as fast as JetStream takes them). Returns
    once JetStream has acknowledged every event. Raises NatsError if the server cannot be
    reached or acknowledges nothing for a minute, or an event has no id, time or line.
    """
    return run_sync(_publish(lines, server_url, plant, speed, default_line, window, progress))


async def _publish(
    lines: Iterable[bytes],
    server_url: str,
    plant: str,
    speed: float,
    default_line: str | None,
    window: int,
    progress: Callable[[int], None] | None,
) -> PublishReport:
    client = await connect(server_url, name=f"linespeed-sim-{plant}")
    publisher = JetStreamPublisher(client, window=window)
    report = PublishReport()
    began = time.monotonic()
    first_ts: datetime | None = None
    try:
        for line in lines:
            try:
                route = _route.decode(line)
            except msgspec.DecodeError as error:
                raise NatsError(f"event {line[:80]!r} cannot be routed: {error}") from None
            route_line = route.line or default_line
            if route_line is None:
                raise NatsError(f"event {line[:80]!r} names no line to publish it under")
            if speed > 0:
                first_ts = first_ts or route.ts
                wait_s = began + (route.ts - first_ts).total_seconds() / speed - time.monotonic()
                if wait_s > 0:
                    await asyncio.sleep(wait_s)
            await publisher.publish(
                events_subject(plant, route_line, route.station),
                line,
                message_id(route.id, route_line, route.station, line),
            )
            report.published += 1
            if progress is not None and report.published % 1000 == 0:
                progress(1000)
        await publisher.drain()
        if progress is not None:
            progress(report.published % 1000)
    finally:
        await publisher.close()
        await client.close()
    report.duplicates = publisher.duplicates
    report.resent = publisher.resent
    report.seconds = time.monotonic() - began
    return report
