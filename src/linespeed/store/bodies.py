"""The stored form of an event: its canonical JSON less the fields the log keeps in columns.

`events.body` holds an event's canonical JSON (`linespeed.events.codec.encode_event`)
without its first three fields, `kind`, `id` and `ts`, which `events` stores in columns of
their own; `canonical_body` puts them back, byte for byte.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import msgspec

_TS_KEY: Final = ',"ts":"'
_encode: Final = msgspec.json.Encoder().encode


def stored_body(canonical: str) -> str:
    """The stored form of an event's canonical JSON (which starts with kind, id and ts)."""
    # Inside a JSON string every quote is escaped, so `,"ts":"` can only be the ts field.
    start = canonical.index(_TS_KEY) + len(_TS_KEY)
    end = canonical.index('"', start) + 1
    return "{" + canonical[end + 1 :] if canonical[end] == "," else "{}"


def canonical_body(kind: str, event_id: str, ts: datetime | str, stored: str) -> str:
    """The canonical JSON of a stored event, from its columns and its stored body; `ts` as
    the driver reads it (fixed-width UTC text on SQLite, a datetime on PostgreSQL)."""
    return _joined(kind, event_id, ts_json(ts), stored)


def event_json(kind: str, event_id: str, ts: datetime | str, stored: str) -> str:
    """JSON that decodes to the stored event (as `canonical_body`, but its `ts` is written
    as the driver read it, which is quicker: for replaying the log)."""
    return _joined(kind, event_id, f'"{ts}"' if isinstance(ts, str) else ts_json(ts), stored)


def _joined(kind: str, event_id: str, ts_text: str, stored: str) -> str:
    head = f'{{"kind":"{kind}","id":{_encode(event_id).decode()},"ts":{ts_text}'
    return head + "}" if stored == "{}" else head + "," + stored[1:]


def ts_json(ts: datetime | str) -> str:
    """A timestamp (or its stored text) as canonical event JSON writes it, in quotes
    ("2025-06-30T01:41:07Z")."""
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    return _encode(ts if ts.tzinfo is UTC else ts.astimezone(UTC)).decode()
