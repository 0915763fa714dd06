"""Pulling batches from a durable consumer, a few microseconds a message.

nats-py's `fetch` waits for each message of a batch on its own (a timer per message); at
tens of thousands of events a second that costs more than the ingest. `Puller` asks the
consumer for a batch (`$JS.API.CONSUMER.MSG.NEXT`) and gathers the messages in one callback
on an inbox of its own: first without waiting (what the stream holds now), and when that
gives nothing, waiting up to `wait_s` for the first messages to come (and never past a
deadline: the bridge pulls only while its lease covers what it pulls).

`Takeover` holds back the first pull of a reader taking a consumer over while messages an
earlier reader left unacknowledged are outstanding, until JetStream will deliver them again
before any later message (a consumer's new leader learns which are due only a moment after it
took over, and delivers later messages meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Final

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import ConsumerInfo

API_PREFIX: Final = "$JS.API"
_STATUS: Final = "Status"
_ACK_PREFIX: Final = "$JS.ACK."
"""How the reply subject of a consumer's delivery begins (a server status has no reply)."""
_HEARTBEAT: Final = "100"
_SLACK_S: Final = 2.0
"""How much longer than the request's expiry a pull waits for its end (a lost connection)."""
_SHORTEST_WAIT_S: Final = 0.01
SETTLE_S: Final = 2.0
"""How long a consumer's leader must stay the same before a reader taking the consumer over
pulls, while messages delivered before are not acknowledged: a leader queues those due to be
delivered again (before any later message) at its first check of them, which nats-server 2.9
makes up to 1.5 s after it took over (a failover, a restart), delivering later messages
meanwhile."""
_API_TIMEOUT_S: Final = 2.0
_BUSY_RETRY_S: Final = 0.5

log = logging.getLogger(__name__)


class Puller:
    """Pulls batches of messages from one durable consumer, in the stream's order."""

    def __init__(self, client: Client, stream: str, durable: str) -> None:
        self.client = client
        self.stream = stream
        self.durable = durable
        self.next_subject = f"{API_PREFIX}.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._inbox = ""
        self._subscription: Subscription | None = None
        self._request = 0
        self._messages: list[Msg] = []
        self._wanted = 0
        self._done = asyncio.Event()

    async def open(self) -> None:
        """Subscribe to the puller's inbox."""
        self._inbox = self.client.new_inbox()
        self._subscription = await self.client.subscribe(
            f"{self._inbox}.*", cb=self._received, pending_msgs_limit=-1, pending_bytes_limit=-1
        )
        _fast_path(self.client)[self._subscription._id] = self

    async def close(self) -> None:
        """Stop receiving; hand back the messages that came after the last pull (negative
        acknowledgement: JetStream delivers them again at once, before later ones)."""
        if self._subscription is not None:
            _fast_path(self.client).pop(self._subscription._id, None)
            with contextlib.suppress(Exception):
                await self._subscription.unsubscribe()
            self._subscription = None
        left, self._messages = self._messages, []
        for message in left:
            with contextlib.suppress(Exception):
                await message.nak()

    async def consumer_info(self) -> ConsumerInfo:
        """The consumer's state, as its leader sees it. Raises nats.errors.Error or
        TimeoutError if JetStream does not answer in time."""
        js = self.client.jetstream(timeout=_API_TIMEOUT_S)
        info: ConsumerInfo = await js.consumer_info(
            self.stream, self.durable, timeout=_API_TIMEOUT_S
        )
        return info

    async def pull(self, batch: int, wait_s: float, until: float | None = None) -> list[Msg]:
        """Up to `batch` messages: those the consumer holds now, or else the first to come
        within `wait_s` (then up to `batch` of them, or what came until `wait_s`), and none
        asked to come after `until` (a `time.monotonic()` deadline)."""
        messages = await self._ask(batch, None)
        if messages:
            return messages
        if until is not None:
            wait_s = min(wait_s, until - time.monotonic())
            if wait_s < _SHORTEST_WAIT_S:
                return []
        return await self._ask(batch, wait_s)

    async def keep_in_progress(self) -> None:
        """Tell JetStream that the messages which came after the last pull ended (kept for
        the next) are being worked on, as the batches pulled before them are."""
        for message in self._messages:
            with contextlib.suppress(Exception):
                await message.in_progress()

    async def _ask(self, batch: int, wait_s: float | None) -> list[Msg]:
        self._request += 1
        # messages that came after the last request ended stay: they are the oldest
        self._wanted = batch
        self._done.clear()
        request: dict[str, object] = {"batch": batch}
        if wait_s is None:
            request["no_wait"] = True
        else:
            request["expires"] = int(wait_s * 1e9)
        await self.client.publish(
            self.next_subject, json.dumps(request).encode(), reply=f"{self._inbox}.{self._request}"
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._done.wait(), (wait_s or 0.0) + _SLACK_S)
        messages, self._messages = self._messages, []
        return messages

    def _delivered(self, msg: Msg) -> None:
        """A message the consumer delivered (its reply is where to acknowledge it; its headers
        are the publisher's, a `Status` among them or not): kept even if its request has ended,
        so that it is not left unacknowledged to come again after later ones."""
        self._messages.append(msg)
        if len(self._messages) >= self._wanted:
            self._done.set()

    async def _received(self, msg: Msg) -> None:
        if msg.reply.startswith(_ACK_PREFIX):
            self._delivered(msg)
            return
        status = msg.headers.get(_STATUS) if msg.headers else None
        if status == _HEARTBEAT:
            return
        # 404 no messages, 408 request expired, 409 a limit or a leadership change: this
        # request is over (a status of an earlier request is not this one's end)
        if msg.subject == f"{self._inbox}.{self._request}":
            self._done.set()


class Takeover:
    """Holds back the first pull of a reader taking a consumer over until what an earlier
    reader left unacknowledged will be delivered again before any later message.

    JetStream delivers a message whose acknowledgement wait has run out again before any later
    one, but a consumer's leader learns which are due only at its first check after it took
    over (a stream leader's failover, a server restart): until then it delivers later
    messages, and a car's later events would come before its earlier ones (and be refused).
    So when the consumer says messages await acknowledgement as the reader takes it over, the
    reader pulls only once the same leader has led the consumer for `settle_s` since it
    looked; with none outstanding it pulls at once.
    """

    def __init__(
        self,
        puller: Puller,
        settle_s: float = SETTLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.puller = puller
        self.settle_s = settle_s
        self.clock = clock
        self._settled = -1
        """The take of the lease that may pull."""
        self._take = -1
        self._leader: str | None = None
        self._until = 0.0

    async def ready(self, take: int) -> bool:
        """Whether the reader may pull in its `take`-th take of the consumer's lease (each take
        is checked afresh)."""
        if take == self._settled:
            return True
        if take != self._take:
            self._take, self._leader, self._until = take, None, 0.0
        now = self.clock()
        if now < self._until:
            return False
        try:
            info = await self.puller.consumer_info()
        except (nats.errors.Error, TimeoutError, OSError):
            self._leader, self._until = None, now + _BUSY_RETRY_S  # a leader election
            return False
        leader = (info.cluster.leader if info.cluster else None) or ""
        outstanding = info.num_ack_pending or 0
        if outstanding == 0 or leader == self._leader:
            self._settled = take
            return True
        if self._leader is None:
            log.warning(
                "%s/%s: %d messages delivered before were not acknowledged (a reader stopped);"
                " pulling in %g s, once JetStream delivers them again first",
                self.puller.stream,
                self.puller.durable,
                outstanding,
                self.settle_s,
            )
        self._leader, self._until = leader, now + self.settle_s
        return False


_Process = Callable[[int, bytes, bytes, bytes, bytes], Awaitable[None]]
_FAST: weakref.WeakKeyDictionary[Client, dict[int, Puller]] = weakref.WeakKeyDictionary()


def _fast_path(client: Client) -> dict[int, Puller]:
    """The pullers of `client`, by subscription id, whose delivered messages skip the client's
    general path (headers parsed into a dict, a queue, a task per subscription): nats-py's
    `Client._process_msg` is wrapped, once per client, to hand them to their puller at once
    as a `Msg` without headers (nothing the bridge reads). Statuses, and every other
    subscription's messages, take the general path."""
    pullers = _FAST.get(client)
    if pullers is not None:
        return pullers
    pullers = _FAST[client] = {}
    general: _Process | None = getattr(client, "_process_msg", None)
    if general is None:  # another nats-py: the general path for all
        return pullers
    ack_prefix = _ACK_PREFIX.encode()

    async def process(sid: int, subject: bytes, reply: bytes, data: bytes, headers: bytes) -> None:
        puller = pullers.get(sid)
        if puller is None or not reply.startswith(ack_prefix):
            await general(sid, subject, reply, data, headers)
            return
        puller._delivered(
            Msg(client, subject=subject.decode(), reply=reply.decode(), data=data, _sid=sid)
        )

    client._process_msg = process  # type: ignore[method-assign]
    return pullers
