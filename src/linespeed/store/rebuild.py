"""Rebuilding every projection from the event log alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import msgspec
from sqlalchemy import Engine, func, select

from linespeed.events.types import Event, PartInstalled, StockCounted, UnitEvent
from linespeed.store.bodies import event_json
from linespeed.store.engine import write_transaction
from linespeed.store.plants import load_plants
from linespeed.store.projector import Projector
from linespeed.store.reads import param_marker
from linespeed.store.schema import PROJECTIONS, events
from linespeed.store.statistics import refresh_statistics
from linespeed.store.writes import stamp_for

_CHUNK: Final = 20_000
_decoder: Final = msgspec.json.Decoder(Event)
_REPLAY_READS: Final = frozenset(
    {"ix_station_visits_vin", "ix_installed_parts_vin", "ix_installed_parts_serial_part"}
)
"""The projections' indexes replay reads (a car's visits and pieces, who holds a serial);
the others are dropped while the tables refill and built again after, in one pass each."""
_REPLAY: Final = (
    "SELECT seq, revision, kind, event_id, ts, body, id_scope FROM events"
    " WHERE seq > {0} ORDER BY seq LIMIT {0}"
)


def rebuild(engine: Engine, progress: Callable[[int, int], None] | None = None) -> int:
    """Recompute every projection from `events`, in one transaction; returns events replayed.

    Accepted events are not validated again: they are applied as they were accepted,
    each under the plant revision recorded with it. `progress` is called with
    (events done, events in all). Indexes no replay reads are built once at the end; on
    PostgreSQL the refilled tables are analysed after.
    """
    with write_transaction(engine) as connection:
        projector = Projector(load_plants(connection), stamp_for(engine.dialect), log_events=False)
        total = connection.execute(select(func.count()).select_from(events)).scalar() or 0
        for table in reversed(PROJECTIONS):
            connection.execute(table.delete())
        deferred = [
            index
            for table in PROJECTIONS
            for index in sorted(table.indexes, key=lambda index: str(index.name))
            if index.name not in _REPLAY_READS
        ]
        for index in deferred:
            index.drop(connection)
        done, after = 0, 0
        marker = param_marker(connection)
        while True:
            rows = connection.exec_driver_sql(_REPLAY.format(marker), (after, _CHUNK)).all()
            if not rows:
                break
            replay = [
                (_decoder.decode(event_json(kind, event_id, ts, body)), revision)
                for _, revision, kind, event_id, ts, body, _ in rows
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
            for (event, revision), (seq, _, _, _, _, body, scope) in zip(replay, rows, strict=True):
                projector.apply(event, body, scope, revision, seq)
            projector.flush(connection)
            done += len(rows)
            after = rows[-1][0]
            if progress is not None:
                progress(done, total)
        for index in deferred:
            index.create(connection)
    refresh_statistics(engine)
    return done
