"""What an MQTT message holds: its events (one object or an array), or its refusal.

A message is refused whole when it is larger than the size limit; otherwise each event in
it is checked against its topic (plant, line, station) before it goes to the one ingest path.
A payload that is not JSON goes through as it is, and ingest refuses it (`json.malformed`).
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from linespeed.ingest.core import RawEvent
from linespeed.mqtt.topics import EventsTopic

DEFAULT_MAX_PAYLOAD_BYTES: Final = 1 << 20
KEPT_BYTES: Final = 64 << 10
"""How much of a message over the size limit is kept in its dead letter."""

_ARRAY: Final = frozenset(b"[")
_raw_array = msgspec.json.Decoder(list[msgspec.Raw])


class _Where(msgspec.Struct):
    """The fields of an event that must agree with its topic (other fields ignored)."""

    line: Any = None
    station: Any = None


_where = msgspec.json.Decoder(_Where)


def message_events(
    payload: bytes,
    topic: str,
    where: EventsTopic,
    plant: str,
    *,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
) -> list[RawEvent]:
    """The events a message on `topic` carries, each tagged with its source.

    The source is the topic (with `[i]` for the i-th event of an array). A message over
    `max_payload_bytes` becomes one refused payload (`payload.too_large`, first 64 KiB kept);
    an event whose topic names another plant than `plant` is refused with `plant.unknown`,
    one whose `line` or `station` differs from the topic's with `topic.mismatch`. Each
    event carries the topic's line, which ingest checks against the plant and the car.
    """
    if len(payload) > max_payload_bytes:
        detail = (
            f"message of {len(payload)} bytes on {topic} is over the limit of "
            f"{max_payload_bytes} bytes; its first {min(len(payload), KEPT_BYTES)} bytes are kept"
        )
        return [RawEvent(payload[:KEPT_BYTES], topic, refusal=("payload.too_large", detail))]
    elements = _elements(payload)
    if elements is None:
        return [_checked(payload, topic, where, plant)]
    return [
        _checked(bytes(element), f"{topic}[{number}]", where, plant)
        for number, element in enumerate(elements)
    ]


def _elements(payload: bytes) -> list[msgspec.Raw] | None:
    """The raw elements of a JSON array payload; None for anything else (one event)."""
    start = payload.lstrip()[:1]
    if not start or start[0] not in _ARRAY:
        return None
    try:
        return _raw_array.decode(payload)
    except (msgspec.DecodeError, RecursionError):
        return None  # ingest names what is wrong with it


def _checked(payload: bytes, source: str, where: EventsTopic, plant: str) -> RawEvent:
    if where.plant != plant:
        detail = f"topic plant {where.plant!r} is not this store's plant {plant!r}"
        return RawEvent(payload, source, refusal=("plant.unknown", detail))
    try:
        fields = _where.decode(payload)
    except (msgspec.DecodeError, RecursionError):
        return RawEvent(payload, source, line=where.line)  # ingest names what is wrong
    if isinstance(fields.line, str) and fields.line != where.line:
        detail = f"event line {fields.line!r} differs from topic line {where.line!r}"
        return RawEvent(payload, source, refusal=("topic.mismatch", detail))
    if isinstance(fields.station, str) and fields.station != where.station:
        at = "the line-level topic" if where.station is None else f"topic station {where.station!r}"
        detail = f"event station {fields.station!r} differs from {at}"
        return RawEvent(payload, source, refusal=("topic.mismatch", detail))
    # The topic's line must be a line of the plant, and the car must run on it: ingest checks.
    return RawEvent(payload, source, line=where.line)
