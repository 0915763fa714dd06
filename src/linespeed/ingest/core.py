"""The one ingest path: decode, check against the plant and the cars' states, append, project.

Files, HTTP, MQTT and the simulator all hand their payloads to `Ingestor.ingest`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import msgspec
from sqlalchemy import Connection, Engine

from linespeed.events.codec import decode_event, encode_event, peek_id
from linespeed.events.reasons import EventRejectedError
from linespeed.events.rules import PlantRules, check_event
from linespeed.events.types import Event, PartInstalled, StationState
from linespeed.store.bulk import select_in, stamp_for
from linespeed.store.deadletters import Rejection, record_rejections, resolve
from linespeed.store.engine import write_transaction
from linespeed.store.plants import current_revision, load_plants
from linespeed.store.projector import Projector

DEFAULT_BATCH_SIZE: Final = 5_000
OutcomeStatus = Literal["accepted", "duplicate", "rejected"]


class RawEvent(msgspec.Struct, frozen=True):
    """One payload as it arrived, and where from (`file:line`, a topic, a request)."""

    payload: bytes
    source: str
    dead_letter_id: int | None = None
    refusal: tuple[str, str] | None = None
    """A (reason, detail) the source already found, such as a CSV row that does not parse."""
    event_id: str | None = None
    """The event id the source read, when the payload is not JSON (a refused CSV row)."""


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


class Ingestor:
    """Ingests batches of payloads into one store; keeps its caches between batches."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._projector: Projector | None = None

    def ingest(self, batch: Sequence[RawEvent]) -> list[Outcome]:
        """Ingest one batch in one transaction; returns one outcome per payload, in order.

        Accepted events and their projections are committed together with the batch's dead
        letters, so whatever this returns as accepted is durable. Raises StoreError if the
        store holds no plant, and lets database errors through (nothing of the batch is
        then stored).
        """
        decoded = [_decode(item) for item in batch]
        events = [event for event in decoded if not isinstance(event, EventRejectedError)]
        vins = {event.vin for event in events if type(event) is not StationState}
        serials = {
            (event.part, event.serial)
            for event in events
            if type(event) is PartInstalled and event.serial is not None
        }
        try:
            with write_transaction(self.engine) as connection:
                projector = self._projector_for(connection)
                projector.begin(connection, vins, serials)
                stored = _stored_bodies(connection, [event.id for event in events])
                outcomes, rejections = self._check_and_apply(batch, decoded, projector, stored)
                projector.flush(connection)
                record_rejections(connection, rejections)
                resolve(
                    connection,
                    [
                        item.dead_letter_id
                        for item, outcome in zip(batch, outcomes, strict=True)
                        if item.dead_letter_id is not None and outcome.status != "rejected"
                    ],
                )
        except BaseException:
            if self._projector is not None:
                self._projector.forget()
            raise
        return outcomes

    def _projector_for(self, connection: Connection) -> Projector:
        revision = current_revision(connection)
        if self._projector is None or self._projector.current_revision != revision:
            self._projector = Projector(load_plants(connection), stamp_for(self.engine.dialect))
        return self._projector

    def _check_and_apply(
        self,
        batch: Sequence[RawEvent],
        decoded: list[Event | EventRejectedError],
        projector: Projector,
        stored: dict[str, str],
    ) -> tuple[list[Outcome], list[Rejection]]:
        outcomes: list[Outcome] = []
        rejections: list[Rejection] = []
        current = projector.rules[projector.current_revision]
        for item, event in zip(batch, decoded, strict=True):
            if isinstance(event, EventRejectedError):
                outcome = Outcome(
                    "rejected",
                    item.event_id or peek_id(item.payload),
                    item.source,
                    event.code,
                    event.detail,
                )
            else:
                body = encode_event(event).decode()
                known = stored.get(event.id)
                if known is not None:
                    outcome = (
                        Outcome("duplicate", event.id, item.source)
                        if known == body
                        else Outcome(
                            "rejected",
                            event.id,
                            item.source,
                            "id.conflict",
                            f"event {event.id!r} was accepted before with other content",
                        )
                    )
                else:
                    outcome = _check_one(event, body, item.source, projector, current)
                    if outcome.status == "accepted":
                        stored[event.id] = body
            outcomes.append(outcome)
            if outcome.status == "rejected":
                rejections.append(
                    Rejection(
                        raw=item.payload,
                        source=item.source,
                        event_id=outcome.event_id,
                        reason=outcome.reason or "unknown",
                        detail=outcome.detail or "",
                        dead_letter_id=item.dead_letter_id,
                    )
                )
        return outcomes, rejections


def _check_one(
    event: Event, body: str, source: str, projector: Projector, current: PlantRules
) -> Outcome:
    unit = None if type(event) is StationState else projector.unit(event.vin)
    if unit is None:
        unit_rules, revision = None, projector.current_revision
    else:
        unit_rules, revision = projector.rules[unit.revision], unit.revision
    try:
        check_event(event, unit, current, unit_rules, projector.serial_owner)
    except EventRejectedError as error:
        return Outcome("rejected", event.id, source, error.code, error.detail)
    projector.apply(event, body, revision)
    return Outcome("accepted", event.id, source)


def _decode(item: RawEvent) -> Event | EventRejectedError:
    if item.refusal is not None:
        return EventRejectedError(*item.refusal)
    try:
        return decode_event(item.payload)
    except EventRejectedError as error:
        return error


def _stored_bodies(connection: Connection, event_ids: list[str]) -> dict[str, str]:
    sql = "SELECT event_id, body FROM events WHERE event_id IN ({values})"
    return dict(select_in(connection, sql, sorted(set(event_ids))))


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
