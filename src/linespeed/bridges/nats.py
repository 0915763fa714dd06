"""The NATS bridge: a plant's JetStream stream in, the one ingest path, acks after commit.

The bridge reads `LS_<PLANT>` at a plant (or `LS_HQ` at headquarters, filtered to the
plant) through a durable pull consumer with explicit acknowledgement. It pulls a batch
(`linespeed.natsio.pull`), hands it to the committer's thread (`nats_commits`: the one
ingest path, `Ingestor.ingest_batches`), pulls the next meanwhile, sends in-progress acks
while batches wait or commit, and acknowledges each message only once its batch is committed.
A process killed at any moment loses nothing: what it had not acknowledged, JetStream
delivers again, and ingest, idempotent by event, counts it as a duplicate.

A message whose events are all refused is in dead letters once its batch commits (ingest
writes them in the same transaction); it is then terminated, so JetStream never delivers
it again. Several processes may run on one durable consumer: one reads, the others wait
on its lease (`linespeed.natsio.lease`) and take over when it dies. The reader pulls, and keeps
messages in progress, only while its lease covers them (they would be delivered again before
the lease lapses), and never while a pull is under way: what a dead reader left comes back in
the stream's order, before the standby taking over pulls anything after it. A reader taking
over while such messages are outstanding waits until the consumer's leader has surely queued
them to come first (`linespeed.natsio.pull.Takeover`: a leader that just took over, after a
stream leader's failover or a restart, delivers later messages for a moment).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import Engine

from linespeed.bridges.mqtt_messages import DEFAULT_MAX_PAYLOAD_BYTES, message_events
from linespeed.bridges.nats_commits import Committer
from linespeed.ingest.core import (
    DEFAULT_BATCH_SIZE,
    Ingestor,
    IngestReport,
    LiveWindow,
    Outcome,
    RawEvent,
)
from linespeed.mqtt.topics import EventsTopic, parse_events_topic
from linespeed.natsio.lease import LEASE_FACTOR, ConsumerLease, lease_bucket
from linespeed.natsio.pull import Puller, Takeover
from linespeed.natsio.server import NatsBusyError, NatsError, connect
from linespeed.natsio.streams import StreamPlan, StreamState, ensure_streams
from linespeed.natsio.subjects import (
    HQ_STREAM,
    is_name,
    plant_subjects,
    stream_name,
    subject_topic,
)
from linespeed.natsio.sync import run_sync
from linespeed.store.plants import current_plant

DEFAULT_ACK_WAIT_S: Final = 30.0
"""How long JetStream waits for an acknowledgement before it delivers a message again."""
_FETCH_WAIT_S: Final = 0.5
_PULL_SLACK_S: Final = 0.1
"""How much longer than a pull's wait its lease should cover at its start (else it is
renewed first): the no-wait request before it."""
_PLACES_KEPT: Final = 10_000
_UNSEEN: Final = EventsTopic("", "", None)
_IN_FLIGHT: Final = 3
"""Batches handed to the committer and not yet committed, at most."""
_SETTLE_POLL_S: Final = 0.1
"""How long the bridge waits before it looks again whether a feed taken over may pull."""
_BUSY_S: Final = 60.0
"""How long the bridge waits at its start for a busy JetStream (a leader election)."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NatsBridgeSettings:
    """Where the bridge reads, as whom, and how much it takes at once."""

    server: str
    plants: tuple[str, ...] = ()
    """The plants whose events to read (default: the store's); a store holding one plant
    refuses the others' events into dead letters (`plant.unknown`)."""
    hq: bool = False
    """Read headquarters' `LS_HQ` (filtered to each plant) instead of the plants' streams."""
    durable: str | None = None
    """The durable consumer's name (default `linespeed-<plant>`; one per plant)."""
    replicas: int = 1
    """Replicas of a stream the bridge has to make (it was not set up)."""
    batch_size: int = DEFAULT_BATCH_SIZE
    """Most messages pulled and ingested in one transaction."""
    ack_wait_s: float = DEFAULT_ACK_WAIT_S
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    live_window: LiveWindow | None = field(default_factory=LiveWindow)


@dataclass
class NatsReport(IngestReport):
    """What a bridge run ingested, with the messages it acknowledged or terminated."""

    messages: int = 0
    batches: int = 0
    redelivered: int = 0
    """Messages JetStream delivered more than once (their events count as duplicates)."""
    terminated: int = 0
    """Messages whose every event was refused: in dead letters, never delivered again."""

    def as_dict(self) -> dict[str, Any]:
        """The ingest counts plus `messages`, `batches`, `redelivered` and `terminated`."""
        return {
            **super().as_dict(),
            "messages": self.messages,
            "batches": self.batches,
            "redelivered": self.redelivered,
            "terminated": self.terminated,
        }


@dataclass
class _Feed:
    """One plant's durable consumer, and the lease on reading it."""

    plant: str
    stream: str
    durable: str
    puller: Puller
    lease: ConsumerLease
    ack_wait_s: float
    """The consumer's acknowledgement wait (one made earlier keeps its own)."""
    takeover: Takeover
    """Holds the first pull of each take of the lease while a dead reader's messages wait."""


class _Batch(NamedTuple):
    messages: list[Msg]
    items: list[RawEvent]
    counts: list[int]
    """How many items each message gave."""


class NatsBridge:
    """Bridges JetStream streams into one store; `run` until told to stop."""

    def __init__(self, engine: Engine, settings: NatsBridgeSettings) -> None:
        """Raises NatsError if the durable name, batch size or ack wait is not one."""
        if settings.durable is not None and not is_name(settings.durable):
            raise NatsError(f"bad durable name {settings.durable!r}: use [A-Za-z0-9_-]+")
        if settings.batch_size < 1 or settings.ack_wait_s < 1:
            raise NatsError("the batch size must be >= 1 and the ack wait >= 1 s")
        self.engine = engine
        self.settings = settings
        self.report = NatsReport()
        self.streams: list[StreamState] = []
        self._ingestor = Ingestor(engine, settings.live_window)
        self._counts: dict[int, list[int]] = {}
        """How many items each message of a batch in flight gave, by the batch's id."""
        self._feeds: dict[int, _Feed] = {}
        """The feed each batch in flight was pulled from, by the batch's id."""
        self._turn = 0
        self._in_flight: list[list[Msg]] = []
        self._client: Client | None = None
        self._places: dict[str, EventsTopic | None] = {}
        """The plant, line and station of each subject seen (few: one per station)."""

    @property
    def unacknowledged(self) -> int:
        """Messages pulled and not yet acknowledged (being committed, or waiting to be)."""
        return sum(len(messages) for messages in list(self._in_flight))

    @property
    def reconnects(self) -> int:
        """Times the connection to the server was made again after it was lost."""
        client = self._client
        return 0 if client is None else int(client.stats.get("reconnects", 0))

    def run(
        self, stop: threading.Event, on_ready: Callable[[str], None] | None = None
    ) -> NatsReport:
        """Bridge until `stop` is set; `on_ready` is told what is read once consumers hold.

        Makes the plant's stream (or `LS_HQ`) if it is missing. Raises StoreError if the
        store holds no plant, NatsError if the server cannot be reached, a stream exists with
        other subjects or JetStream refuses the consumer, and StoreError when the store keeps
        failing to commit (nothing of the failing batch was acknowledged: it and the batches
        after it are handed back to JetStream before the lease is given up).
        """
        with self.engine.connect() as connection:
            store_plant = current_plant(connection).plant
        plants = self.settings.plants or (store_plant,)
        run_sync(self._run(stop, plants, on_ready))
        return self.report

    async def _run(
        self,
        stop: threading.Event,
        plants: tuple[str, ...],
        on_ready: Callable[[str], None] | None,
    ) -> None:
        settings = self.settings
        client = self._client = await connect(settings.server, name="linespeed-ingest")
        try:
            feeds = await self._open(client, plants)
            if on_ready is not None:
                names = ", ".join(f"{feed.stream}/{feed.durable}" for feed in feeds)
                on_ready(f"{names} on {settings.server}")
            try:
                await self._bridge(stop, feeds)
            finally:
                for feed in feeds:
                    await feed.puller.close()
                    await feed.lease.release()
        finally:
            with contextlib.suppress(nats.errors.Error, TimeoutError):
                await asyncio.wait_for(client.flush(), 5.0)
            await client.close()

    async def _open(self, client: Client, plants: tuple[str, ...]) -> list[_Feed]:
        """Make or check the streams, then the consumers and leases, retrying while JetStream
        is busy (a leader election) for up to `_BUSY_S`."""
        plan = StreamPlan(plants, hq=self.settings.hq, replicas=self.settings.replicas)
        deadline = time.monotonic() + _BUSY_S
        while True:
            try:
                self.streams = await ensure_streams(client.jetstream(), plan)
                return [await self._feed(client, plant) for plant in plants]
            except NatsBusyError as error:
                if time.monotonic() > deadline:
                    raise NatsError(f"{error.message}, for {_BUSY_S:g} s") from None
                log.warning("%s; trying again", error.message)
                await asyncio.sleep(1.0)

    async def _feed(self, client: Client, plant: str) -> _Feed:
        js = client.jetstream()
        settings = self.settings
        stream = HQ_STREAM if settings.hq else stream_name(plant)
        durable = settings.durable or f"linespeed-{plant}"
        if len(settings.plants) > 1 and settings.durable:
            durable = f"{settings.durable}-{plant}"
        config = ConsumerConfig(
            durable_name=durable,
            description=f"linespeed ingest of plant {plant}",
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=settings.ack_wait_s,
            max_deliver=-1,
            filter_subject=plant_subjects(plant),
            # the batches in flight, and the next one pulled meanwhile
            max_ack_pending=(_IN_FLIGHT + 1) * settings.batch_size,
        )
        try:
            try:
                info = await js.add_consumer(stream, config)
            except nats.js.errors.BadRequestError:
                # it exists with another configuration: keep it, as the first process made it
                info = await js.consumer_info(stream, durable)
        except (nats.errors.TimeoutError, TimeoutError, nats.js.errors.ServiceUnavailableError):
            raise NatsBusyError(f"JetStream did not answer about {durable} in time") from None
        except nats.errors.Error as error:
            raise NatsError(
                f"JetStream refused the consumer {durable} on {stream}: {error}"
            ) from None
        if info.config.filter_subject != plant_subjects(plant):
            raise NatsError(
                f"consumer {durable} on {stream} reads {info.config.filter_subject}, not"
                f" {plant_subjects(plant)}: name another with --durable"
            )
        try:
            stream_info = await js.stream_info(stream)
        except (nats.errors.TimeoutError, TimeoutError, nats.js.errors.ServiceUnavailableError):
            raise NatsBusyError(f"JetStream did not answer about {stream} in time") from None
        except nats.errors.Error as error:
            raise NatsError(f"cannot read consumer {durable} on {stream}: {error}") from None
        ack_wait_s = info.config.ack_wait or settings.ack_wait_s
        lease = ConsumerLease(
            js,
            lease_bucket(stream, durable),
            ttl_s=LEASE_FACTOR * ack_wait_s,
            replicas=stream_info.config.num_replicas or 1,
            ack_wait_s=ack_wait_s,
        )
        await lease.open()
        puller = Puller(client, stream, durable)
        await puller.open()
        return _Feed(plant, stream, durable, puller, lease, ack_wait_s, Takeover(puller))

    async def _bridge(self, stop: threading.Event, feeds: list[_Feed]) -> None:
        """Pull and hand over batches until `stop`; acknowledge each once it is committed.

        At most `_IN_FLIGHT` batches are handed over and not yet committed: the next is
        pulled and prepared while one commits and another is decoded. Pulls and in-progress
        acknowledgements take turns (`touching`): a batch pulled is in flight before the
        next keeping, so the messages are kept in progress in the stream's order and, were
        this process to die, are delivered again in that order.
        """
        store_plant = await asyncio.to_thread(self._store_plant)
        committer: Committer[list[Msg]] = Committer(self._ingestor, asyncio.get_running_loop())
        committer.start()
        in_flight: list[list[Msg]] = []
        self._in_flight = in_flight
        touching = asyncio.Lock()
        keeping = asyncio.create_task(self._keep(feeds, in_flight, touching))
        try:
            while not stop.is_set():
                while not committer.done.empty():
                    await self._finish(committer.done.get_nowait(), in_flight)
                if len(in_flight) >= _IN_FLIGHT:
                    await self._finish(await committer.done.get(), in_flight)
                    continue
                async with touching:
                    source, messages = await self._pull(feeds)
                    if source is not None:
                        batch = self._prepare(messages, store_plant)
                        in_flight.append(messages)
                        self._feeds[id(messages)] = source
                        self._counts[id(messages)] = batch.counts
                        committer.submit(messages, batch.items)
                if messages:
                    continue
                if in_flight:
                    await self._finish(await committer.done.get(), in_flight)
                elif not any(feed.lease.covers() > 0 for feed in feeds):
                    await asyncio.sleep(min(feed.lease.renew_every_s for feed in feeds))
            # Stopping: a store failing now is not waited out (nothing of it is acknowledged).
            committer.stop_retrying()
            while in_flight:
                await self._finish(await committer.done.get(), in_flight)
        finally:
            keeping.cancel()
            await asyncio.to_thread(committer.close)
            # Leaving on an error: hand back what is not acknowledged before the lease goes,
            # so that a standby reads it first, not the messages after it.
            await _nak([message for messages in in_flight for message in messages])

    async def _pull(self, feeds: list[_Feed]) -> tuple[_Feed | None, list[Msg]]:
        """The next messages of the first feed (in turn) whose lease this process holds and
        covers them, with that feed."""
        settling = False
        for _turn in range(len(feeds)):
            feed = feeds[self._turn % len(feeds)]
            self._turn += 1
            if not await feed.lease.try_acquire():
                continue
            if not await feed.takeover.ready(feed.lease.taken):
                settling = True  # a dead reader's messages are not yet due first
                continue
            covered_s = await feed.lease.cover(_FETCH_WAIT_S + _PULL_SLACK_S)
            if covered_s <= 0:
                continue  # renewals failing: pull nothing JetStream would hold for us
            messages = await _pull(feed, self.settings.batch_size, covered_s)
            if messages:
                return feed, messages
        if settling:
            await asyncio.sleep(_SETTLE_POLL_S)
        return None, []

    async def _keep(
        self, feeds: list[_Feed], in_flight: list[list[Msg]], touching: asyncio.Lock
    ) -> None:
        """Every sixth of a lease's life, renew the leases held, then tell JetStream that the
        batches in flight are still being worked on (committed, or waiting to be): only those
        whose lease covers them, so that they come again before the lease lapses."""
        every_s = min(feed.lease.renew_every_s for feed in feeds)
        while True:
            await asyncio.sleep(every_s)
            async with touching:
                for feed in feeds:
                    if feed.lease.held and not await feed.lease.renew():
                        log.warning(
                            "lost the lease on %s/%s to another process", feed.stream, feed.durable
                        )
                for messages in list(in_flight):
                    owner = self._feeds.get(id(messages))
                    if owner is not None and owner.lease.covers() > 0:
                        await _keep_in_progress(messages)
                for feed in feeds:
                    if feed.lease.covers() > 0:
                        await feed.puller.keep_in_progress()

    async def _finish(
        self, done: tuple[list[Msg], list[Outcome]] | BaseException, in_flight: list[list[Msg]]
    ) -> None:
        """Acknowledge a committed batch's messages, or terminate those whose every event was
        refused (they are in dead letters); raise what the committer failed with."""
        if isinstance(done, BaseException):
            raise done
        messages, outcomes = done
        in_flight.remove(messages)
        self._feeds.pop(id(messages), None)
        counts = self._counts.pop(id(messages))
        at = 0
        for message, count in zip(messages, counts, strict=True):
            mine = outcomes[at : at + count]
            at += count
            with contextlib.suppress(nats.errors.Error):
                if (
                    mine
                    and mine[0].status == "rejected"
                    and all(outcome.status == "rejected" for outcome in mine)
                ):
                    await message.term()
                    self.report.terminated += 1
                else:
                    await message.ack()
        self.report.add(outcomes)
        self.report.messages += len(messages)
        self.report.batches += 1

    def _store_plant(self) -> str:
        with self.engine.connect() as connection:
            return current_plant(connection).plant

    def _prepare(self, messages: list[Msg], store_plant: str) -> _Batch:
        batch = _Batch(messages, [], [])
        limit = self.settings.max_payload_bytes
        places = self._places
        for message in messages:
            subject = message.subject
            where = places.get(subject, _UNSEEN)
            if where is _UNSEEN:
                where = places[subject] = parse_events_topic(subject_topic(subject))
                if len(places) > _PLACES_KEPT:
                    places.clear()
            if where is None:
                detail = (
                    f"subject {subject} is not an events subject"
                    " (linespeed.v1.<plant>.<line>.<station>.events)"
                )
                items = [RawEvent(message.data, subject, refusal=("topic.mismatch", detail))]
            else:
                items = message_events(
                    message.data, subject, where, store_plant, max_payload_bytes=limit
                )
            batch.items.extend(items)
            batch.counts.append(len(items))
            if delivered(message.reply) > 1:
                self.report.redelivered += 1
        return batch


def delivered(reply: str) -> int:
    """How many times JetStream has delivered a message, read from its reply subject:
    `$JS.ACK.<stream>.<consumer>.<delivered>....` (9 tokens) or, with a domain,
    `$JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>....` (12 or more); 1 if the
    subject is neither."""
    tokens = reply.split(".", 7)
    if len(tokens) < 8 or tokens[1] != "ACK":
        return 1
    number = tokens[4] if reply.count(".") == 8 else tokens[6]
    return int(number) if number.isdigit() else 1


async def _pull(feed: _Feed, batch_size: int, covered_s: float) -> list[Msg]:
    """The next messages of `feed` (none if none came within `_FETCH_WAIT_S`), none asked to
    come after `covered_s` from now."""
    until = time.monotonic() + covered_s
    try:
        return await feed.puller.pull(batch_size, _FETCH_WAIT_S, until=until)
    except (nats.errors.Error, OSError) as error:
        log.warning("pulling from %s failed (%s); trying again", feed.stream, error)
        await asyncio.sleep(_FETCH_WAIT_S)
        return []


async def _keep_in_progress(messages: list[Msg]) -> None:
    """Tell JetStream that `messages` are still being worked on (their acknowledgement wait
    starts again), in their order."""
    for message in messages:
        with contextlib.suppress(nats.errors.Error):
            await message.in_progress()


async def _nak(messages: list[Msg]) -> None:
    """Tell JetStream to deliver `messages` again at once (they were not committed)."""
    for message in messages:
        with contextlib.suppress(nats.errors.Error, TimeoutError):
            await message.nak()
