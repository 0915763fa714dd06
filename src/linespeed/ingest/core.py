"""The one ingest path: decode, check against the plant and the cars' states, append, project.

Files, HTTP, MQTT and the simulator all hand their payloads to `Ingestor.ingest`.
"""

from __future__ import annotations

import logging
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Final, Literal

import msgspec
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

from linespeed.errors import LinespeedError, StoreError
from linespeed.events.codec import EARLIEST_TS, decode_event, encode_event, peek_id
from linespeed.events.reasons import EventRejectedError
from linespeed.events.rules import (
    check_channel,
    check_corrector,
    check_event,
    id_scope,
    is_correction,
)
from linespeed.events.types import (
    Event,
    PartInstalled,
    PartReceived,
    PartRemoved,
    StockCounted,
    UnitEvent,
)
from linespeed.ingest.corrections import Corrector, correction_audit_row, record_corrections
from linespeed.store.bodies import canonical_body, stored_body
from linespeed.store.deadletters import Rejection, record_rejections, resolve
from linespeed.store.engine import is_disk_full, store_failure, write_transaction
from linespeed.store.plants import current_revision, load_plants
from linespeed.store.projector import Projector
from linespeed.store.reads import select_in
from linespeed.store.settings import is_simulation
from linespeed.store.statistics import refresh_statistics
from linespeed.store.writes import stamp_for

DEFAULT_BATCH_SIZE: Final = 5_000
_SLICE: Final = 1_000
"""Events checked while the rows of the slice before them are written."""
STATISTICS_EVERY: Final = 1_000
"""Accepted events between two looks at whether the planner's statistics are due."""
OutcomeStatus = Literal["accepted", "duplicate", "rejected"]
StoredKey = tuple[str, str]
"""An event's idempotency key: (scope, id), the scope `station:<id>` or `line:<id>`."""
STORE_TROUBLE: Final = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    LinespeedError,
    OSError,
    MemoryError,
)
"""Failures of the store or the machine, not of one event's content: they reach the caller,
who retries the whole batch later (nothing of it was stored)."""

log = logging.getLogger(__name__)

BatchObserver = Callable[[Sequence["Outcome"], float], object]
"""Told of each batch ingested: its outcomes and the seconds it took (`linespeed.metrics`)."""
_observers: list[BatchObserver] = []


def observe_batches(observer: BatchObserver) -> None:
    """Tell `observer` of every batch that any `Ingestor` of this process ingests from now on,
    once it is committed. It runs in the ingesting thread and must be quick."""
    _observers.append(observer)


@dataclass(frozen=True)
class LiveWindow:
    """How far from now a live source's events may be (HTTP, MQTT, NATS): a clock skew into
    the future, and an age for gateways that buffer while offline. Files and the simulator
    carry history and are not held to it."""

    max_future_s: float = 600.0
    max_age_s: float | None = 90 * 86400.0
    """None: no limit on age (replaying a gateway's old buffer on purpose)."""

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """The earliest and latest event time accepted at `now`."""
        if self.max_age_s is None:
            return EARLIEST_TS, now + timedelta(seconds=self.max_future_s)
        return now - timedelta(seconds=self.max_age_s), now + timedelta(seconds=self.max_future_s)


class RawEvent(msgspec.Struct, frozen=True):
    """One payload as it arrived, and where from (`file:line`, a topic, a request)."""

    payload: bytes
    source: str
    dead_letter_id: int | None = None
    refusal: tuple[str, str] | None = None
    """A (reason, detail) the source already found, such as a CSV row that does not parse."""
    event_id: str | None = None
    """The event id the source read, when the payload is not JSON (a refused CSV row)."""
    line: str | None = None
    """The line the channel names (an MQTT topic's): the event must be of that line."""
    stations: frozenset[str] | None = None
    """A station-limited token's stations: the event must name one of them, and its car
    must not have passed it."""
    corrector: Corrector | None = None
    """Who sends it with the engineer role, if anyone: genealogy corrections need one."""


class Outcome(msgspec.Struct, frozen=True):
    """What became of one payload."""

    status: OutcomeStatus
    event_id: str | None
    source: str
    reason: str | None = None
    detail: str | None = None


@dataclass
class IngestReport:
    """Counts of accepted, duplicate and rejected payloads, with rejections by reason."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def add(self, outcomes: Iterable[Outcome]) -> None:
        """Count more outcomes in."""
        for outcome in outcomes:
            if outcome.status == "accepted":
                self.accepted += 1
            elif outcome.status == "duplicate":
                self.duplicates += 1
            else:
                self.rejected += 1
                self.reasons[outcome.reason or "unknown"] += 1

    def as_dict(self) -> dict[str, Any]:
        """The report as `{"accepted", "duplicates", "rejected", "reasons"}`."""
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "reasons": dict(sorted(self.reasons.items())),
        }


@dataclass
class DecodedBatch:
    """A batch of payloads decoded, with what its ingest will look up in the store."""

    items: Sequence[RawEvent]
    decoded: list[Event | EventRejectedError]
    """One event, or the refusal of its payload, per item."""
    bodies: list[str]
    """The canonical JSON of each decoded event (empty for a refusal)."""
    stored: list[str] = field(default_factory=list)
    """The stored form of each body (`linespeed.store.bodies`; empty for a refusal)."""
    event_ids: list[str] = field(default_factory=list)
    vins: set[str] = field(default_factory=set)
    serials: set[tuple[str, str]] = field(default_factory=set)
    """(part, serial) of the serialized parts installed."""
    received: set[tuple[str, str]] = field(default_factory=set)
    """(part, serial) of the serialized pieces received."""
    counted: set[str] = field(default_factory=set)
    """The parts counted (`stock.counted`)."""


def decode_batch(batch: Sequence[RawEvent]) -> DecodedBatch:
    """Decode a batch of payloads (needs no store, so it may run in another thread)."""
    decoded: list[Event | EventRejectedError] = []
    bodies: list[str] = []
    result = DecodedBatch(batch, decoded, bodies)
    stored = result.stored
    event_ids, vins, serials = result.event_ids, result.vins, result.serials
    for item in batch:
        if item.refusal is not None:
            decoded.append(EventRejectedError(*item.refusal))
            bodies.append("")
            stored.append("")
            continue
        try:
            event = decode_event(item.payload)
        except EventRejectedError as error:
            decoded.append(error)
            bodies.append("")
            stored.append("")
            continue
        decoded.append(event)
        body = encode_event(event).decode()
        bodies.append(body)
        stored.append(stored_body(body))
        event_ids.append(event.id)
        if isinstance(event, UnitEvent):
            vins.add(event.vin)
            if type(event) is PartInstalled and event.serial is not None:
                serials.add((event.part, event.serial))
        elif type(event) is PartReceived:
            result.received.update((event.part, serial) for serial in event.serials or ())
        elif type(event) is StockCounted:
            result.counted.add(event.part)
    return result


class Ingestor:
    """Ingests batches of payloads into one store; keeps its caches between batches."""

    def __init__(
        self,
        engine: Engine,
        live_window: LiveWindow | None = None,
        *,
        corrector: Corrector | None = None,
    ) -> None:
        """`live_window`: refuse events further from now than it allows (live sources);
        `corrector`: who runs this ingest with the engineer role (the command line's
        operating-system user), for payloads that name none: genealogy corrections
        (`part.removed`, `part.installed` with `correction: true`) need one."""
        self.engine = engine
        self.live_window = live_window
        self.corrector = corrector
        self._projector: Projector | None = None
        self._simulation = False
        """Whether the store accepts simulated events: read with each projector load."""
        self._unchecked = STATISTICS_EVERY
        """Events accepted since the statistics were last looked at (look at the first batch)."""

    def ingest(self, batch: Sequence[RawEvent]) -> list[Outcome]:
        """Ingest one batch in one transaction; returns one outcome per payload, in order.

        Accepted events and their projections are committed together with the batch's dead
        letters, so whatever this returns as accepted is durable. Should the database refuse
        the batch for the content of some event, the batch is split until that event is
        alone: it is refused (`event.unstorable`) and the others are stored. Raises
        StoreError if the store holds no plant, and lets the store's own failures through
        (STORE_TROUBLE: nothing of the batch is then stored).
        """
        started = time.perf_counter()
        outcomes = self._ingest_isolating(decode_batch(batch))
        _tell_observers(outcomes, started)
        return outcomes

    def ingest_batches(self, batches: Iterable[Sequence[RawEvent]]) -> Iterator[list[Outcome]]:
        """Ingest batches in order as `ingest` does; yields each one's outcomes once committed.

        While a batch commits (SQLite writes and syncs without holding the interpreter
        lock), a second thread reads and decodes the next one: decoding needs no store.
        """
        source = iter(batches)

        def decode_next() -> DecodedBatch | None:
            batch = next(source, None)
            return None if batch is None else decode_batch(batch)

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="linespeed-decode") as pool:
            ahead = [pool.submit(decode_next)]
            while (decoded := ahead.pop().result()) is not None:
                started = time.perf_counter()
                outcomes = self._ingest_isolating(
                    decoded, lambda: ahead.append(pool.submit(decode_next))
                )
                _tell_observers(outcomes, started)
                yield outcomes

    def _ingest_isolating(
        self, prepared: DecodedBatch, before_commit: Callable[[], object] | None = None
    ) -> list[Outcome]:
        """`_ingest`, splitting the batch to isolate an event the database refuses."""
        started = False

        def start_once() -> None:
            nonlocal started
            if before_commit is not None and not started:
                started = True
                before_commit()

        try:
            return self._ingest(prepared, start_once)
        except STORE_TROUBLE:
            raise
        except Exception as error:
            start_once()
            return self._isolate(prepared.items, error)

    def _isolate(self, items: Sequence[RawEvent], error: Exception) -> list[Outcome]:
        """Ingest `items` in halves after the database refused them together with `error`."""
        if len(items) > 1:
            half = len(items) // 2
            return [
                *self._ingest_isolating(decode_batch(items[:half])),
                *self._ingest_isolating(decode_batch(items[half:])),
            ]
        (item,) = items
        log.error("the database refused %s alone", item.source, exc_info=error)
        reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        outcome = Outcome(
            "rejected", peek_id(item.payload), item.source, "event.unstorable", reason[:500]
        )
        with write_transaction(self.engine) as connection:
            record_rejections(connection, [_rejection(item, outcome)])
        return [outcome]

    def _ingest(
        self, prepared: DecodedBatch, before_commit: Callable[[], object] | None = None
    ) -> list[Outcome]:
        """Ingest a decoded batch; `before_commit` may start work that overlaps the commit."""
        try:
            with write_transaction(self.engine) as connection:
                projector = self._projector_for(connection)
                projector.begin(
                    connection,
                    prepared.vins,
                    prepared.serials,
                    received=prepared.received | prepared.serials,
                    counted=prepared.counted,
                )
                stored = _stored_bodies(connection, prepared.event_ids)
                window = None
                if self.live_window is not None:
                    window = self.live_window.bounds(datetime.now(UTC))
                outcomes, rejections, audited = _check_and_write(
                    connection,
                    prepared,
                    partial(
                        _check_and_apply,
                        projector=projector,
                        stored=stored,
                        window=window,
                        simulation=self._simulation,
                        corrector=self.corrector,
                    ),
                    projector.take_appended,
                )
                projector.flush(connection)
                record_rejections(connection, rejections)
                record_corrections(connection, audited)
                resolve(
                    connection,
                    [
                        item.dead_letter_id
                        for item, outcome in zip(prepared.items, outcomes, strict=True)
                        if item.dead_letter_id is not None and outcome.status != "rejected"
                    ],
                )
                if before_commit is not None:
                    before_commit()
        except BaseException:
            if self._projector is not None:
                self._projector.forget()
            raise
        self._unchecked += sum(1 for outcome in outcomes if outcome.status == "accepted")
        if self._unchecked >= STATISTICS_EVERY:
            self._unchecked = 0
            refresh_statistics(self.engine)
        return outcomes

    def _projector_for(self, connection: Connection) -> Projector:
        revision = current_revision(connection)
        if self._projector is None or self._projector.current_revision != revision:
            self._projector = Projector(load_plants(connection), stamp_for(self.engine.dialect))
            self._simulation = is_simulation(connection)
        return self._projector


def _tell_observers(outcomes: list[Outcome], started: float) -> None:
    if _observers:
        took_s = time.perf_counter() - started
        for observer in _observers:
            observer(outcomes, took_s)


Checked = tuple[list[Outcome], list[Rejection], list[dict[str, Any]]]
"""Outcomes, dead letters and audited corrections of a batch."""


def _check_and_write(
    connection: Connection,
    batch: DecodedBatch,
    check: Callable[[DecodedBatch], Checked],
    take_appended: Callable[[], Callable[[Connection], None]],
) -> Checked:
    """`check` a large batch in slices; a second thread writes each slice's append-only rows
    while the next slice is checked (the drivers write without the interpreter lock).

    Checking needs no database, so the connection is the writer's alone meanwhile.
    """
    if len(batch.items) < 2 * _SLICE:
        return check(batch)
    outcomes: list[Outcome] = []
    rejections: list[Rejection] = []
    audited: list[dict[str, Any]] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="linespeed-write") as writer:
        writing: Future[None] | None = None
        for start in range(0, len(batch.items), _SLICE):
            part = slice(start, start + _SLICE)
            sliced = DecodedBatch(
                batch.items[part], batch.decoded[part], batch.bodies[part], batch.stored[part]
            )
            slice_outcomes, slice_rejections, slice_audited = check(sliced)
            outcomes += slice_outcomes
            rejections += slice_rejections
            audited += slice_audited
            if writing is not None:
                writing.result()
            writing = writer.submit(take_appended(), connection)
        if writing is not None:
            writing.result()
    return outcomes, rejections, audited


def _check_and_apply(
    batch: DecodedBatch,
    *,
    projector: Projector,
    stored: dict[StoredKey, str],
    window: tuple[datetime, datetime] | None,
    simulation: bool,
    corrector: Corrector | None,
) -> Checked:
    outcomes: list[Outcome] = []
    rejections: list[Rejection] = []
    audited: list[dict[str, Any]] = []
    rules, current_revision = projector.rules, projector.current_revision
    current = rules[current_revision]
    unit_of, serial_owner, apply = projector.unit, projector.serial_owner, projector.apply
    serial_received = projector.serial_received
    for item, event, body, stored_form in zip(
        batch.items, batch.decoded, batch.bodies, batch.stored, strict=True
    ):
        if isinstance(event, EventRejectedError):
            outcome = Outcome(
                "rejected",
                item.event_id or peek_id(item.payload),
                item.source,
                event.code,
                event.detail,
            )
        elif event.simulated and not simulation:
            outcome = Outcome("rejected", event.id, item.source, "event.simulated", _SIMULATED)
        else:
            unit = unit_of(event.vin) if isinstance(event, UnitEvent) else None
            scope = id_scope(event, unit, current)
            key = (scope or "", event.id)
            if scope is not None and key in stored:
                outcome = _repeated(event.id, body, stored[key], item.source)
            else:
                unit_rules = None if unit is None else rules[unit.revision]
                sender = item.corrector or corrector
                try:
                    if window is not None and not window[0] <= event.ts <= window[1]:
                        raise _outside(event.ts, window)
                    check_corrector(event, sender)
                    if item.line is not None or item.stations is not None:
                        check_channel(
                            event, unit, current, unit_rules, line=item.line, stations=item.stations
                        )
                    check_event(event, unit, current, unit_rules, serial_owner, serial_received)
                except EventRejectedError as error:
                    outcome = Outcome("rejected", event.id, item.source, error.code, error.detail)
                else:  # accepted events always have a scope: a car's events need a known car
                    revision = current_revision if unit is None else unit.revision
                    apply(event, stored_form, key[0], revision)
                    outcome = Outcome("accepted", event.id, item.source)
                    stored[key] = body
                    if (
                        sender is not None
                        and is_correction(event)
                        and (type(event) is PartInstalled or type(event) is PartRemoved)
                    ):
                        audited.append(correction_audit_row(sender, event, item.source))
        outcomes.append(outcome)
        if outcome.status == "rejected":
            rejections.append(_rejection(item, outcome))
    return outcomes, rejections, audited


_SIMULATED: Final = (
    "a simulated event; this store accepts none (create one with `linespeed init --simulation`)"
)


def _outside(ts: datetime, window: tuple[datetime, datetime]) -> EventRejectedError:
    earliest, latest = window
    return EventRejectedError(
        "ts.out_of_range",
        f"ts {ts.isoformat()} is outside what a live source may send now: "
        f"{earliest.isoformat(timespec='seconds')} to {latest.isoformat(timespec='seconds')}",
        field="ts",
    )


def _rejection(item: RawEvent, outcome: Outcome) -> Rejection:
    return Rejection(
        raw=item.payload,
        source=item.source,
        event_id=outcome.event_id,
        reason=outcome.reason or "unknown",
        detail=outcome.detail or "",
        dead_letter_id=item.dead_letter_id,
    )


def _repeated(event_id: str, body: str, stored_body: str, source: str) -> Outcome:
    """The outcome of an event whose key was accepted before: a duplicate, or a conflict."""
    if body == stored_body:
        return Outcome("duplicate", event_id, source)
    return Outcome(
        "rejected",
        event_id,
        source,
        "id.conflict",
        f"event {event_id!r} was accepted before with other content",
    )


def _stored_bodies(connection: Connection, event_ids: list[str]) -> dict[StoredKey, str]:
    wanted = sorted(set(event_ids))
    if wanted and connection.dialect.name == "sqlite":
        # Producers' ids mostly grow (ULIDs, sequence numbers), and an id beyond the
        # greatest stored one cannot be stored. SQLite orders text as Python does.
        newest = connection.exec_driver_sql("SELECT max(event_id) FROM events").scalar()
        wanted = [] if newest is None else wanted[: bisect_right(wanted, newest)]
    sql = "SELECT id_scope, event_id, kind, ts, body FROM events WHERE event_id IN ({values})"
    return {
        (scope, event_id): canonical_body(kind, event_id, ts, body)
        for scope, event_id, kind, ts, body in select_in(connection, sql, wanted)
    }


def batched(items: Iterable[RawEvent], size: int = DEFAULT_BATCH_SIZE) -> Iterator[list[RawEvent]]:
    """Groups of at most `size` payloads, in order."""
    batch: list[RawEvent] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class IngestStoppedError(StoreError):
    """The store failed part-way through an ingest (a full disk, a lost database): what was
    committed before stays, and says how much it was."""

    code = "store.failed"


def ingest_counted(
    ingestor: Ingestor,
    batches: Iterable[Sequence[RawEvent]],
    progress: Callable[[int], None] | None = None,
) -> IngestReport:
    """Ingest `batches` in order (`Ingestor.ingest_batches`) and count their outcomes;
    `progress` gets the payloads of each batch committed.

    Raises IngestStoppedError if the store fails part-way (a full disk, a lost database):
    its message says how many events were stored before and that a re-run skips them.
    """
    report = IngestReport()
    try:
        for outcomes in ingestor.ingest_batches(batches):
            report.add(outcomes)
            if progress is not None:
                progress(len(outcomes))
    except DBAPIError as error:
        done = report.accepted + report.duplicates + report.rejected
        remedy = "free space" if is_disk_full(error) else "bring the store back"
        raise IngestStoppedError(
            f"{store_failure(error)}: {report.accepted:,} events were stored before it"
            f" ({done:,} payloads done); {remedy}, then run the same command again: it"
            " skips what was stored, as duplicates"
        ) from None
    return report
