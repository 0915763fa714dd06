"""News since a sequence number, read from the event log.

`events.seq` is a global, gapless sequence, so a reader tails `events WHERE seq > last`:
this sees events from every process that ingests into the store, not only this server.
Messages: `completion` (a car rolled off, with its completion number), `milestone` (that
car is a milestone: `linespeed.live.milestones.MilestoneNews`, the payload MQTT publishes
too), and `station-state` (a station changed state).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import msgspec
from sqlalchemy import Connection, Engine, Row, text

from linespeed.errors import LinespeedError
from linespeed.live.milestones import MilestoneNews, milestone_news
from linespeed.plant.model import Plant
from linespeed.ramp.milestones import next_milestone
from linespeed.store.bodies import ts_json
from linespeed.store.plants import current_plant

MAX_BATCH: Final = 1000
_decode: Final = msgspec.json.Decoder(dict[str, Any])
_decode_ts: Final = msgspec.json.Decoder(str)
_NEWEST_SQL: Final = text("SELECT max(seq) FROM events")
_FEED_SQL: Final = text(
    "SELECT e.seq, e.kind, e.ts, e.body, u.completion_seq, u.model, u.color"
    " FROM events e LEFT JOIN units u ON e.kind = 'unit.completed' AND u.vin = e.vin"
    " WHERE e.seq > :after AND e.seq <= :newest"
    " AND e.kind IN ('unit.completed', 'station.state')"
    " ORDER BY e.seq LIMIT :limit"
)


@dataclass(frozen=True)
class FeedMessage:
    """One message of the live feed; `seq` is the event's, so a client can resume after it."""

    seq: int
    event: str
    """`completion`, `milestone` or `station-state`."""
    data: dict[str, Any]


def last_seq(engine: Engine) -> int:
    """The newest event's sequence number (0 for an empty store)."""
    with engine.connect() as connection:
        return _newest(connection)


def _newest(connection: Connection) -> int:
    return int(connection.execute(_NEWEST_SQL).scalar() or 0)


def feed_after(
    engine: Engine, after: int, limit: int = MAX_BATCH, *, until: int | None = None
) -> tuple[list[FeedMessage], int]:
    """Feed messages of the events after `after` (up to `until`, else the newest), and the
    sequence number to resume after.

    Reads at most `limit` feed-worthy events; raises LinespeedError (feed.input) if
    `after` is negative, `limit` is not positive or `until` is below `after`.
    """
    if after < 0 or limit < 1 or (until is not None and until < after):
        raise LinespeedError(
            f"after must be >= 0, limit >= 1 and until >= after, got {after}, {limit} and {until}",
            code="feed.input",
        )
    with engine.connect() as connection:
        newest = _newest(connection) if until is None else until
        if newest <= after:
            return [], after
        rows = connection.execute(
            _FEED_SQL, {"after": after, "newest": newest, "limit": limit}
        ).all()
        resume = rows[-1].seq if len(rows) == limit else newest
        plant = current_plant(connection) if rows else None
    milestones = _milestones(engine, plant, rows)
    before = 0 if plant is None else plant.cars_before
    messages: list[FeedMessage] = []
    for row in rows:
        body = _decode.decode(row.body)
        ts = _decode_ts.decode(ts_json(row.ts))
        if row.kind == "station.state":
            data = {key: body.get(key) for key in ("station", "line", "state", "reason")}
            data["ts"] = ts
            messages.append(FeedMessage(row.seq, "station-state", data))
            continue
        # the plant's car number: the store's completion number after the cars built before it
        number = None if row.completion_seq is None else row.completion_seq + before
        car = {
            "vin": body.get("vin"),
            "number": number,
            "model": row.model,
            "color": row.color,
            "ts": ts,
        }
        messages.append(FeedMessage(row.seq, "completion", car))
        if number in milestones:
            messages.append(FeedMessage(row.seq, "milestone", milestones[number].as_json()))
    return messages, resume


def _milestones(
    engine: Engine, plant: Plant | None, rows: Sequence[Row[Any]]
) -> dict[int, MilestoneNews]:
    """The milestone news of the completions among `rows`, by the plant's car number (the
    completion number after the plant's `cars_before`)."""
    if plant is None:
        return {}
    numbers = {
        row.completion_seq + plant.cars_before
        for row in rows
        if row.completion_seq is not None
        and next_milestone(plant, row.completion_seq + plant.cars_before - 1)
        == row.completion_seq + plant.cars_before
    }
    if not numbers:
        return {}
    return {news.number: news for news in milestone_news(engine, plant, numbers)}
