"""The JSON codec for events: decode with precise refusals, encode canonically."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

import msgspec

from linespeed.events.reasons import EventRejectedError
from linespeed.events.types import BaseEvent, Event, StationCompleted

_decoder: Final = msgspec.json.Decoder(Event)
_encoder: Final = msgspec.json.Encoder()
_any_decoder: Final = msgspec.json.Decoder()
_PATH = re.compile(r" - at `\$\.?([^`]*)`$")
_TYPE_MISMATCH = re.compile(r"^Expected `[^`]+`, got `")
_FIELD = re.compile(r"field `([^`]+)`")
_UTC_REMEMBERED: Final = 8192
_utc_of: dict[datetime, datetime] = {}
"""The UTC form of recently decoded timestamps: a stream repeats them often."""


def decode_event(payload: bytes | str) -> Event:
    """Decode one JSON event object with its timestamps normalised to UTC.

    Raises EventRejectedError with a reason code (json.malformed, event.not_object,
    kind.unknown, field.missing, field.type, field.invalid, field.unknown,
    ts.invalid, ts.no_offset) naming the field at fault.
    """
    try:
        if isinstance(payload, bytes) and not payload.isascii():
            payload.decode()  # msgspec does not check that strings are valid UTF-8
        event = _decoder.decode(payload)
    except msgspec.ValidationError as error:
        raise _rejection(str(error)) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        raise EventRejectedError("json.malformed", str(error)) from None
    return _to_utc(event)


def encode_event(event: Event) -> bytes:
    """The canonical JSON of an event: fixed field order, defaults left out.

    Decoded events carry UTC timestamps, so their encoding is the stored form.
    """
    return _encoder.encode(event)


def peek_id(payload: bytes | str) -> str | None:
    """The `id` of a payload that may not decode as an event, if it has a string one."""
    try:
        value = _any_decoder.decode(payload)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def _to_utc(event: Event) -> Event:
    ts = event.ts
    if ts.tzinfo is None:
        raise EventRejectedError(
            "ts.no_offset", f"ts {ts.isoformat()} has no UTC offset", field="ts"
        )
    started_at = event.started_at if type(event) is StationCompleted else None
    if started_at is not None:
        if started_at.tzinfo is None:
            raise EventRejectedError(
                "ts.no_offset",
                f"started_at {started_at.isoformat()} has no UTC offset",
                field="started_at",
            )
        if started_at.tzinfo is not UTC:
            return msgspec.structs.replace(event, ts=_as_utc(ts), started_at=_as_utc(started_at))
    if ts.tzinfo is not UTC:
        return msgspec.structs.replace(event, ts=_as_utc(ts))
    return event


def _as_utc(value: datetime) -> datetime:
    # Aware datetimes are equal when they are the same instant, whatever their offsets,
    # so a remembered UTC form is right for every timestamp equal to its key.
    utc = _utc_of.get(value)
    if utc is None:
        if len(_utc_of) >= _UTC_REMEMBERED:
            _utc_of.clear()
        utc = _utc_of[value] = value.astimezone(UTC)
    return utc


def _rejection(message: str) -> EventRejectedError:
    path_match = _PATH.search(message)
    field = path_match.group(1) if path_match else None
    text = _PATH.sub("", message)
    if field == "kind" and text.startswith("Invalid value"):
        value = text.removeprefix("Invalid value ")
        return EventRejectedError("kind.unknown", f"kind: unknown event kind {value}", field="kind")
    if text.startswith("Object missing required field"):
        missing = _FIELD.search(text)
        name = missing.group(1) if missing else field
        return EventRejectedError("field.missing", f"missing required field {name!r}", field=name)
    if text.startswith("Object contains unknown field"):
        unknown = _FIELD.search(text)
        name = unknown.group(1) if unknown else field
        return EventRejectedError("field.unknown", f"unknown field {name!r}", field=name)
    if text.startswith("Expected `object`") and not field:
        return EventRejectedError("event.not_object", text)
    if "RFC3339" in text:
        return EventRejectedError("ts.invalid", f"{field}: not an RFC 3339 date-time", field=field)
    if _TYPE_MISMATCH.match(text):
        return EventRejectedError("field.type", f"{field}: {text}", field=field)
    return EventRejectedError("field.invalid", f"{field}: {text}", field=field)


def is_event(value: object) -> bool:
    """Whether `value` is a decoded event structure."""
    return isinstance(value, BaseEvent)
