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
EARLIEST_TS: Final = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_TS: Final = datetime(2200, 1, 1, tzinfo=UTC)
"""Every source refuses event times outside [EARLIEST_TS, LATEST_TS): before 1970 or from 2200
on, a time cannot be a production event, and near the ends of the calendar it cannot even be
converted to UTC or subtracted from another."""
_NUL: Final = b"\\u0000"
"""How JSON spells a NUL character (a raw NUL byte is not valid JSON)."""
_utc_of: dict[datetime, datetime] = {}
"""The UTC form of recently decoded timestamps: a stream repeats them often."""


def decode_event(payload: bytes | str) -> Event:
    """Decode one JSON event object with its timestamps normalised to UTC.

    Raises EventRejectedError with a reason code (json.malformed, json.too_deep,
    event.not_object, kind.unknown, field.missing, field.type, field.invalid,
    field.unknown, ts.invalid, ts.no_offset, ts.out_of_range) naming the field at fault.
    """
    raw = payload.encode() if isinstance(payload, str) else payload
    try:
        if not raw.isascii():
            raw.decode()  # msgspec does not check that strings are valid UTF-8
        event = _decoder.decode(raw)
    except msgspec.ValidationError as error:
        raise _rejection(str(error)) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        raise EventRejectedError("json.malformed", str(error)) from None
    except RecursionError:
        raise EventRejectedError("json.too_deep", "the JSON is nested too deeply") from None
    if _NUL in raw:
        _refuse_nul(event)
    return _to_utc(event)


def _refuse_nul(event: Event) -> None:
    """Refuse an event with a NUL character in a text field (PostgreSQL cannot store one)."""
    for name in event.__struct_fields__:
        value = getattr(event, name)
        if isinstance(value, str) and "\x00" in value:
            raise EventRejectedError(
                "field.invalid", f"{name}: a NUL character (\\u0000) is not allowed", field=name
            )


def encode_event(event: Event) -> bytes:
    """The canonical JSON of an event: fixed field order, defaults left out.

    Decoded events carry UTC timestamps, so their encoding is the stored form.
    """
    return _encoder.encode(event)


def peek_id(payload: bytes | str) -> str | None:
    """The `id` of a payload that may not decode as an event, if it has a string one."""
    try:
        value = _any_decoder.decode(payload)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def _to_utc(event: Event) -> Event:
    ts = _checked_utc(event.ts, "ts")
    if type(event) is StationCompleted and event.started_at is not None:
        started_at = _checked_utc(event.started_at, "started_at")
        if started_at is not event.started_at or ts is not event.ts:
            return msgspec.structs.replace(event, ts=ts, started_at=started_at)
    if ts is not event.ts:
        return msgspec.structs.replace(event, ts=ts)
    return event


def _checked_utc(value: datetime, name: str) -> datetime:
    """`value` in UTC. Raises EventRejectedError (ts.no_offset, ts.out_of_range)."""
    if value.tzinfo is None:
        raise EventRejectedError(
            "ts.no_offset", f"{name} {value.isoformat()} has no UTC offset", field=name
        )
    utc = value if value.tzinfo is UTC else _as_utc(value, name)
    if not EARLIEST_TS <= utc < LATEST_TS:
        raise _out_of_range(value, name)
    return utc


def _out_of_range(value: datetime, name: str) -> EventRejectedError:
    return EventRejectedError(
        "ts.out_of_range",
        f"{name} {value.isoformat()} is outside 1970-01-01 to 2200-01-01 UTC",
        field=name,
    )


def _as_utc(value: datetime, name: str) -> datetime:
    # Aware datetimes are equal when they are the same instant, whatever their offsets,
    # so a remembered UTC form is right for every timestamp equal to its key.
    utc = _utc_of.get(value)
    if utc is None:
        try:
            utc = value.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00:00+14:00 is before year 1 in UTC
            raise _out_of_range(value, name) from None
        if len(_utc_of) >= _UTC_REMEMBERED:
            _utc_of.clear()
        _utc_of[value] = utc
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
