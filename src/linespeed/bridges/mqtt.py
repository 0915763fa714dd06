"""The MQTT bridge: station topics in, the one ingest path, acknowledgements after commit.

The bridge subscribes to `linespeed/v1/<plant>/+/+/events` with QoS 1 in a persistent
session (MQTT 5, session never expires; or MQTT 3.1.1, clean session off, with a broker that
speaks only that), so the broker keeps every message until the bridge acknowledges it. At
most `receive_maximum` messages are unacknowledged at once (in 3.1.1 the bridge holds to it
by not reading further: `linespeed.mqtt.connection`). Messages that arrive together are
ingested as one batch in one transaction; only after it commits are they acknowledged. A
bridge killed at any moment therefore loses nothing: what it had not acknowledged, the broker
delivers again, and ingest, idempotent by event id, stores it once.

Refused events are stored as dead letters (by ingest, in the same transaction), then
published to `linespeed/v1/<plant>/deadletters`; they are acknowledged like the rest, so
the broker never redelivers poison. A dead letter is not published (only counted and logged)
while the broker is away or too many publications wait for its acknowledgement: it is in the
store anyway, and the bridge never blocks on it. QoS 0 messages count against the bound too,
and are released once their batch commits. Milestone cars are published, retained, to
`linespeed/v1/<plant>/<line>/milestones`.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

import msgspec
from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from linespeed.bridges.mqtt_late import LateDeliveries
from linespeed.bridges.mqtt_messages import DEFAULT_MAX_PAYLOAD_BYTES, message_events
from linespeed.bridges.mqtt_milestones import MilestoneWatch
from linespeed.errors import StoreError
from linespeed.ingest.core import (
    DEFAULT_BATCH_SIZE,
    Ingestor,
    IngestReport,
    LiveWindow,
    Outcome,
    RawEvent,
)
from linespeed.mqtt.broker import BrokerAddress, BrokerError
from linespeed.mqtt.connection import Connection, Message
from linespeed.mqtt.topics import (
    ALL_PLANTS,
    EventsTopic,
    deadletters_topic,
    events_subscription,
    milestones_topic,
    parse_events_topic,
)
from linespeed.store.engine import store_failure

DEFAULT_RECEIVE_MAXIMUM: Final = 20_000
"""Messages the bridge takes before it acknowledges any (MQTT 5 Receive Maximum; in 3.1.1 the
bridge stops reading at that many)."""
DEFAULT_LINGER_S: Final = 0.05
"""How long the bridge gathers messages for one transaction, at most."""
_POLL_S: Final = 0.2
_LINGER_STEP_S: Final = 0.005
STORE_RETRY_FIRST_S: Final = 1.0
STORE_RETRY_MAX_S: Final = 60.0
"""While the store fails (a restart, a full disk), batches are tried again after 1, 2, 4 ...
seconds, at most a minute apart, for as long as it takes: nothing is acknowledged meanwhile,
so the broker keeps the messages."""
_DRAIN_S: Final = 2.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BridgeSettings:
    """How a bridge connects, what it subscribes to and how much it takes at once."""

    broker: BrokerAddress
    plant: str | None = None
    """The plant whose topics to bridge: None for the store's plant, `+` for every plant
    (events of plants the store does not hold are then refused as `plant.unknown`)."""
    client_id: str | None = None
    """The MQTT client id, which names the persistent session (default `linespeed-<plant>`)."""
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    batch_size: int = DEFAULT_BATCH_SIZE
    """Most events ingested in one transaction."""
    receive_maximum: int = DEFAULT_RECEIVE_MAXIMUM
    linger_s: float = DEFAULT_LINGER_S
    """Longest wait for more messages before a batch is ingested (it goes at once when full)."""
    live_window: LiveWindow | None = field(default_factory=LiveWindow)
    """How far from now events may be dated (None: any time from 1970 to 2200)."""


@dataclass
class BridgeReport(IngestReport):
    """What a bridge run ingested, with the messages it acknowledged."""

    messages: int = 0
    batches: int = 0
    dead_letters_published: int = 0
    dead_letters_unpublished: int = 0
    """Dead letters stored but not published: the broker was away or had too many waiting."""
    milestones_published: int = 0
    late_stored: int = 0
    """Refused events stored after all, once the events they follow came late (`mqtt_late`)."""

    def as_dict(self) -> dict[str, Any]:
        """The ingest counts plus `messages`, `batches`, what was published and stored late."""
        return {
            **super().as_dict(),
            "messages": self.messages,
            "batches": self.batches,
            "dead_letters_published": self.dead_letters_published,
            "dead_letters_unpublished": self.dead_letters_unpublished,
            "milestones_published": self.milestones_published,
            "late_stored": self.late_stored,
        }


class _Batch(NamedTuple):
    messages: list[Message]
    items: list[RawEvent]
    plants: list[str]
    """The plant each item's topic names."""
    counts: list[int] | None = None
    """How many items each message gave (None: one each)."""


class MqttBridge:
    """Bridges one broker's station topics into one store; `run` until told to stop."""

    def __init__(self, engine: Engine, settings: BridgeSettings) -> None:
        self.engine = engine
        self.settings = settings
        self.report = BridgeReport()
        self._inbox: queue.SimpleQueue[Message] = queue.SimpleQueue()
        self.protocol = "MQTT"
        """The MQTT version spoken with the broker (`MQTT 5` or `MQTT 3.1.1`), once connected."""
        self.received = 0
        """Messages taken from the broker (the same one again after a redelivery)."""
        self.refused_whole = 0
        """Messages whose every event was refused (all in dead letters)."""
        self._connection: Connection | None = None

    @property
    def unacknowledged(self) -> int:
        """Messages taken from the broker and not yet acknowledged (their batch uncommitted)."""
        return max(0, self.received - self.report.messages)

    @property
    def reconnects(self) -> int:
        """Times the bridge connected to the broker again after losing it."""
        connection = self._connection
        return 0 if connection is None else max(0, connection.generation - 1)

    def _receive(self, message: Message) -> None:
        self.received += 1  # only the connection's network thread counts
        self._inbox.put(message)

    def run(
        self, stop: threading.Event, on_ready: Callable[[str], None] | None = None
    ) -> BridgeReport:
        """Bridge until `stop` is set; `on_ready` is told the subscription once it holds.

        Raises StoreError if the store holds no plant or another plant than `--plant`,
        BrokerError if the broker cannot be reached or refuses the subscription, and lets
        database errors through when the store keeps failing (nothing of the failing batch
        was acknowledged: the broker delivers it again to the next run).
        """
        watch = MilestoneWatch(self.engine)
        plant = watch.plant.plant
        wanted = self.settings.plant or plant
        if wanted not in (plant, ALL_PLANTS):
            raise StoreError(f"this database holds plant {plant!r}, not {wanted!r}")
        subscription = events_subscription(wanted)
        client_id = self.settings.client_id or f"linespeed-{plant}"
        connection = Connection(
            self.settings.broker,
            client_id,
            manual_ack=True,
            persistent=True,
            receive_maximum=self.settings.receive_maximum,
        )
        connection.on_message = self._receive
        self._connection = connection
        connection.open()
        try:
            self.protocol = connection.version_name
            connection.subscribe(subscription)
            for news in watch.newest():
                connection.publish(milestones_topic(plant, news.line), news.payload, retain=True)
            if on_ready is not None:
                on_ready(subscription)
            self._bridge(stop, connection, watch)
            with contextlib.suppress(BrokerError):  # dead letters are in the store anyway
                connection.drain(_DRAIN_S)
        finally:
            connection.close()
        return self.report

    def _next_batch(self) -> list[Message]:
        """The messages waiting, gathered for a bounded time (none if none came in time).

        After the first message, it takes every message that comes within `linger_s` (or
        until the batch holds `batch_size` events), so that a stream arriving a few
        messages at a time is still committed in large transactions.
        """
        inbox = self._inbox
        try:
            first = inbox.get(timeout=_POLL_S)
        except queue.Empty:
            return []
        batch = [first]
        events = _event_count(first.payload)
        limit = self.settings.batch_size
        until = time.monotonic() + self.settings.linger_s
        while events < limit:
            try:
                message = inbox.get_nowait()
            except queue.Empty:
                left_s = until - time.monotonic()
                if left_s <= 0:
                    break
                try:
                    message = inbox.get(timeout=min(left_s, _LINGER_STEP_S))
                except queue.Empty:
                    continue
            batch.append(message)
            events += _event_count(message.payload)
        return batch

    def _bridge(self, stop: threading.Event, connection: Connection, watch: MilestoneWatch) -> None:
        """Ingest batches until `stop`, acknowledging each batch's messages once committed.

        While one batch commits, the next is gathered and decoded in another thread
        (`Ingestor.ingest_batches`). When the store fails, the batches not yet committed
        are ingested again, in order, after a pause that doubles up to STORE_RETRY_MAX_S, for
        as long as the store fails and `stop` is not set.
        """
        ingestor = Ingestor(self.engine, self.settings.live_window)
        late = LateDeliveries(ingestor)
        plant = watch.plant.plant
        pending: deque[_Batch] = deque()
        attempt = 0
        while True:
            halted = threading.Event()  # tells the batch gatherer to give up after a failure
            try:
                batches = self._batches(stop, halted, plant, pending)
                for outcomes in ingestor.ingest_batches(batches):
                    # committed: now, and only now, the broker may forget these messages
                    batch = pending.popleft()
                    self._acknowledge(connection, batch, outcomes)
                    attempt = 0
                    late.after_commit(outcomes, any(message.dup for message in batch.messages))
                    self.report.late_stored = late.stored
                    for news in watch.reached_since_last_look():
                        connection.publish(
                            milestones_topic(plant, news.line), news.payload, retain=True
                        )
                        self.report.milestones_published += 1
                return
            except (OperationalError, InterfaceError) as error:
                halted.set()
                delay_s = min(STORE_RETRY_FIRST_S * 2**attempt, STORE_RETRY_MAX_S)
                attempt += 1
                log.warning(
                    "%s: %d batches wait, unacknowledged; trying again in %g s",
                    store_failure(error),
                    len(pending),
                    delay_s,
                )
                if stop.wait(delay_s):
                    return

    def _batches(
        self, stop: threading.Event, halted: threading.Event, plant: str, pending: deque[_Batch]
    ) -> Iterator[list[RawEvent]]:
        """The batches not yet committed (after a store failure), then new ones until `stop`."""
        yield from [batch.items for batch in pending]
        while not stop.is_set() and not halted.is_set():
            messages = self._next_batch()
            if messages:
                batch = self._prepare(plant, messages)
                pending.append(batch)
                yield batch.items

    def _prepare(self, plant: str, messages: list[Message]) -> _Batch:
        counts: list[int] = []
        batch = _Batch(messages, [], [], counts)
        limit = self.settings.max_payload_bytes
        for message in messages:
            where = parse_events_topic(message.topic) or EventsTopic(plant, "", "")
            items = message_events(
                message.payload, message.topic, where, plant, max_payload_bytes=limit
            )
            batch.items.extend(items)
            batch.plants.extend([where.plant] * len(items))
            counts.append(len(items))
        return batch

    def _acknowledge(self, connection: Connection, batch: _Batch, outcomes: list[Outcome]) -> None:
        mids: dict[int, list[int]] = {}
        for message in batch.messages:  # QoS 0 too: id 0 frees its place, sends nothing
            mids.setdefault(message.generation, []).append(message.mid)
        for generation, of_generation in mids.items():  # an earlier connection's are dropped
            connection.acknowledge(generation, of_generation)
        rejected_before = self.report.rejected
        self.report.add(outcomes)
        self.report.messages += len(batch.messages)
        self.report.batches += 1
        if self.report.rejected > rejected_before:
            counts = batch.counts or [1] * len(batch.messages)
            self.refused_whole += _refused_whole(counts, outcomes)
        for item, outcome, item_plant in zip(batch.items, outcomes, batch.plants, strict=True):
            if outcome.status != "rejected":
                continue
            topic = deadletters_topic(item_plant)
            if connection.try_publish(topic, _dead_letter(item, outcome)):
                self.report.dead_letters_published += 1
            else:  # stored anyway; never block the bridge on the broker
                self.report.dead_letters_unpublished += 1
                log.warning(
                    "dead letter %s not published to %s: the broker is away or has too many "
                    "unacknowledged (it is in the store)",
                    outcome.event_id,
                    topic,
                )


def _refused_whole(counts: list[int], outcomes: list[Outcome]) -> int:
    """How many messages (of `counts` items each, in order) had every event refused."""
    refused = 0
    start = 0
    for count in counts:
        if count and all(o.status == "rejected" for o in outcomes[start : start + count]):
            refused += 1
        start += count
    return refused


def _event_count(payload: bytes) -> int:
    """About how many events a message holds (exact for one event; objects in an array)."""
    return 1 if payload[:1] != b"[" else max(1, payload.count(b"{"))


def _dead_letter(item: RawEvent, outcome: Outcome) -> bytes:
    return msgspec.json.encode(
        {
            "event_id": outcome.event_id,
            "reason": outcome.reason,
            "detail": outcome.detail,
            "source": item.source,
            "payload": item.payload.decode("utf-8", errors="backslashreplace"),
        }
    )
