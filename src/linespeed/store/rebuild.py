"""Rebuilding every projection from the event log alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import msgspec
from sqlalchemy import Engine, func, select

from linespeed.events.types import Event, PartInstalled, StockCounted, UnitEvent
from linespeed.store.bodies import canonical_body
from linespeed.store.engine import write_transaction
from linespeed.store.plants import load_plants
from linespeed.store.projector import Projector
from linespeed.store.schema import PROJECTIONS, events
from linespeed.store.statistics import refresh_statistics
from linespeed.store.writes import stamp_for

_CHUNK: Final = 20_000
_decoder: Final = msgspec.json.Decoder(Event)


def rebuild(engine: Engine, progress: Callable[[int, int], None] | None = None) -> int:
    """Recompute every projection from `events`, in one transaction; returns events replayed.

    Accepted events are not validated again: they are applied as they were accepted,
    each under the plant revision recorded with it. `progress` is called with
    (events done, events in all). On PostgreSQL the refilled tables are analysed after.
    """
    with write_transaction(engine) as connection:
        projector = Projector(load_plants(connection), stamp_for(engine.dialect), log_events=False)
        total = connection.execute(select(func.count()).select_from(events)).scalar() or 0
        for table in reversed(PROJECTIONS):
            connection.execute(table.delete())
        done, after = 0, 0
        while True:
            rows = connection.execute(
                select(
                    events.c.seq,
                    events.c.revision,
                    events.c.kind,
                    events.c.event_id,
                    events.c.ts,
                    events.c.body,
                    events.c.id_scope,
                )
                .where(events.c.seq > after)
                .order_by(events.c.seq)
                .limit(_CHUNK)
            ).all()
            if not rows:
                break
            replay = [
                (
                    _decoder.decode(canonical_body(row.kind, row.event_id, row.ts, row.body)),
                    row.revision,
                )
                for row in rows
            ]
            installed = {
                (event.part, event.serial)
                for event, _ in replay
                if isinstance(event, PartInstalled) and event.serial is not None
            }
            projector.begin(
                connection,
                {event.vin for event, _ in replay if isinstance(event, UnitEvent)},
                installed,
                received=installed,
                counted={event.part for event, _ in replay if isinstance(event, StockCounted)},
            )
            for (event, revision), row in zip(replay, rows, strict=True):
                projector.apply(event, row.body, row.id_scope, revision, row.seq)
            projector.flush(connection)
            done += len(rows)
            after = rows[-1].seq
            if progress is not None:
                progress(done, total)
    refresh_statistics(engine)
    return done
