"""Projections: accepted events applied to cars, parts, defects and stations, written in batches.

What each event does is `linespeed.events.transitions` (the state machine); this module
keeps its cars cached between batches, loads the ones it lacks, logs the events and writes
the machine's changes with SQL. The same code serves live ingest and `linespeed rebuild`,
so both give the same tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Final, TypeVar

from sqlalchemy import Connection, and_, bindparam, func, select

from linespeed.events.rules import PlantRules, UnitState, rules_by_revision
from linespeed.events.transitions import (
    CAR_FIELDS,
    UNIT_CHANGES,
    Car,
    Changes,
    SerialKey,
    StateMachine,
    unit_changes,
    unit_row,
)
from linespeed.events.types import EVENT_TYPES, Event, UnitEvent
from linespeed.plant.model import Plant
from linespeed.store.reads import param_marker, select_in
from linespeed.store.schema import (
    defects,
    events,
    inspections,
    installed_parts,
    station_states,
    station_visits,
    stock_moves,
    stock_pieces,
    stock_unreceived,
    units,
)
from linespeed.store.writes import Stamp, insert_rows, update_rows

_HELD_SERIALS: Final = (
    "SELECT p.part, p.serial, p.vin FROM installed_parts p JOIN units u ON u.vin = p.vin"
    " WHERE p.serial IN ({values}) AND p.removed_at IS NULL AND u.status <> 'scrapped'"
)
_RECEIVED_SERIALS: Final = "SELECT part, serial FROM stock_pieces WHERE serial IN ({values})"
_ON_HAND: Final = (
    "SELECT part, sum(quantity) FROM ("
    " SELECT part, quantity FROM stock_moves WHERE part IN ({values})"
    " UNION ALL SELECT part, -quantity FROM stock_consumed WHERE part IN ({values})"
    ") AS moves GROUP BY part"
)
_CONSUME: Final = (
    "INSERT INTO stock_consumed (part, lot, day, quantity) VALUES ({m}, {m}, {m}, {m})"
    " ON CONFLICT (part, lot, day) DO UPDATE"
    " SET quantity = stock_consumed.quantity + excluded.quantity"
)
_FLAG_UNRECEIVED: Final = (
    "INSERT INTO stock_unreceived (part, serial, vin, installed_at)"
    " VALUES ({m}, {m}, {m}, {m}) ON CONFLICT DO NOTHING"
)
"""A piece installed again in the same car is flagged once."""
_T = TypeVar("_T")
_CHUNK: Final = 400
_MAX_CACHED_UNITS: Final = 20_000
"""Cars kept between batches before the cache starts again: a car at full station detail
holds about 12 kB (3 kB with units only), and the cars still being built are a few thousand
at most, so 20,000 keeps every car still in work while bounding memory at plant scale."""
_KINDS: Final = {cls: str(cls.__struct_config__.tag) for cls in EVENT_TYPES}


class Projector:
    """Applies accepted events to the projections and keeps the car states the rules read.

    Use inside one write transaction: `begin`, then `unit`/`serial_owner`/`apply` per
    event, then `flush`. Its caches survive between transactions only while no other
    writer has added events in between.
    """

    def __init__(self, plants: dict[int, Plant], stamp: Stamp, *, log_events: bool = True) -> None:
        """`stamp` converts timestamps for the driver; `log_events=False` replays the log."""
        self._stamp = stamp
        self._stamps: dict[datetime, Any] = {}
        self.rules: dict[int, PlantRules] = rules_by_revision(plants)
        self.current_revision = max(plants)
        self._machine = StateMachine(self.rules, self._stamp_of)
        self._transition = self._machine.apply
        self._cars = self._machine.cars
        self._serials = self._machine.serials
        self._last_seq: int | None = None
        self._next_seq = 1
        self._log_rows: list[tuple[Any, ...]] = []
        """The `events` rows of this batch, in column order."""
        self._log_events = log_events
        self._taken = 0
        """Log rows of this batch handed out by `take_appended` already."""

    def begin(
        self,
        connection: Connection,
        vins: Iterable[str],
        serials: Iterable[SerialKey],
        *,
        received: Iterable[SerialKey] = (),
        counted: Iterable[str] = (),
    ) -> None:
        """Read what the coming events need: counters, and the cars and serials not cached;
        whether the `received` serials (of receipts, or installs under a strict supply)
        were received, and what is on hand of the `counted` parts."""
        last_seq = connection.execute(select(func.max(events.c.seq))).scalar() or 0
        if last_seq != self._last_seq or len(self._cars) > _MAX_CACHED_UNITS:
            self._cars.clear()
            self._serials.clear()
        self._next_seq = last_seq + 1
        machine = self._machine
        machine.next_start = (
            connection.execute(select(func.max(units.c.start_seq))).scalar() or 0
        ) + 1
        machine.next_completion = (
            connection.execute(select(func.max(units.c.completion_seq))).scalar() or 0
        ) + 1
        self._load_cars(connection, {vin for vin in vins if vin not in self._cars})
        self._load_serials(connection, {key for key in serials if key not in self._serials})
        self._load_stock(connection, set(received), set(counted))
        machine.changes = Changes()
        self._log_rows = []
        self._taken = 0
        self._stamps.clear()

    def unit(self, vin: str) -> UnitState | None:
        """The state of car `vin`, or None if it was never started."""
        car = self._cars.get(vin)
        return None if car is None else car.state

    def serial_owner(self, part: str, serial: str) -> str | None:
        """The car that holds this serial of `part` now, if any (scrapped cars hold none)."""
        return self._serials.get((part, serial))

    def serial_received(self, part: str, serial: str) -> bool:
        """Whether this serial of `part` was received (loaded by `begin`, or in this batch)."""
        return (part, serial) in self._machine.received

    def apply(
        self, event: Event, body: str, id_scope: str, revision: int, seq: int | None = None
    ) -> None:
        """Record an accepted event: its log row (with `body`, its stored form, and the scope
        of its idempotency key, `station:<id>` or `line:<id>`) and what it changes in the
        projections; `seq` is its number in the log when it is replayed (else the next
        number is taken)."""
        at = self._stamps.get(event.ts)
        if at is None:
            at = self._stamp_of(event.ts)
        if seq is None:
            seq = self._next_seq
        if self._log_events:
            vin = event.vin if isinstance(event, UnitEvent) else None
            self._log_rows.append(
                (seq, event.id, _KINDS[type(event)], at, vin, revision, body, id_scope)
            )
            self._next_seq += 1
        self._transition(event, revision, at, seq)

    def _stamp_of(self, value: datetime) -> Any:
        """The driver's form of a timestamp, remembered for the batch (times repeat often)."""
        stamped = self._stamps.get(value)
        if stamped is None:
            stamped = self._stamps[value] = self._stamp(value)
        return stamped

    def take_appended(self) -> Callable[[Connection], None]:
        """Takes the rows applied so far that nothing later in the batch changes (the log,
        station visits, inspections) out of the batch; returns what writes them, which may
        run in another thread while more events are applied (`flush` writes the rest)."""
        log_rows, self._log_rows = self._log_rows, []
        changes = self._machine.changes
        visits, changes.visits = changes.visits, []
        checks, changes.inspections = changes.inspections, []
        self._taken += len(log_rows)

        def write(connection: Connection) -> None:
            insert_rows(connection, events, log_rows)
            insert_rows(connection, station_visits, visits)
            insert_rows(connection, inspections, checks)

        return write

    def flush(self, connection: Connection) -> int:
        """Write everything applied since `begin` (and not taken out by `take_appended`);
        returns the number of events logged in the batch."""
        writes, cars, stamp = self._machine.changes, self._cars, self._stamp_of
        insert_rows(connection, events, self._log_rows)
        insert_rows(connection, units, [unit_row(cars[vin], stamp) for vin in writes.new_vins])
        update_rows(
            connection,
            units,
            UNIT_CHANGES,
            ("vin",),
            [
                (*unit_changes(cars[vin], stamp), vin)
                for vin in writes.touched_vins - writes.new_vins
            ],
        )
        insert_rows(connection, station_visits, writes.visits)
        if writes.parts_removed:
            connection.execute(
                installed_parts.update().where(
                    and_(
                        installed_parts.c.vin == bindparam("b_vin"),
                        installed_parts.c.part == bindparam("b_part"),
                        installed_parts.c.removed_at.is_(None),
                    )
                ),
                writes.parts_removed,
            )
        if writes.lots_removed:
            connection.execute(
                installed_parts.update().where(
                    and_(
                        installed_parts.c.vin == bindparam("b_vin"),
                        installed_parts.c.part == bindparam("b_part"),
                        installed_parts.c.lot == bindparam("b_lot"),
                        installed_parts.c.removed_at.is_(None),
                    )
                ),
                writes.lots_removed,
            )
        insert_rows(connection, installed_parts, writes.parts)
        insert_rows(connection, inspections, writes.inspections)
        if writes.defects_closed:
            connection.execute(
                defects.update().where(
                    and_(
                        defects.c.vin == bindparam("b_vin"),
                        defects.c.defect == bindparam("b_defect"),
                    )
                ),
                writes.defects_closed,
            )
        if writes.defects:
            connection.execute(defects.insert(), list(writes.defects.values()))
        if writes.states_ended:
            connection.execute(
                station_states.update().where(
                    and_(
                        station_states.c.station == bindparam("b_station"),
                        station_states.c.ended_at.is_(None),
                    )
                ),
                writes.states_ended,
            )
        if writes.state_rows:
            connection.execute(station_states.insert(), writes.state_rows)
        self._flush_stock(connection, writes)
        written = self._taken + len(self._log_rows)
        self._taken = 0
        self._last_seq = self._next_seq - 1
        self._machine.changes = Changes()
        self._log_rows = []
        return written

    def _flush_stock(self, connection: Connection, writes: Changes) -> None:
        insert_rows(connection, stock_moves, writes.stock_moves)
        insert_rows(connection, stock_pieces, writes.stock_pieces)
        if writes.received_late:
            connection.execute(
                stock_unreceived.delete().where(
                    stock_unreceived.c.part == bindparam("b_part"),
                    stock_unreceived.c.serial == bindparam("b_serial"),
                ),
                [{"b_part": part, "b_serial": serial} for part, serial in writes.received_late],
            )
        if writes.unreceived:
            connection.exec_driver_sql(
                _FLAG_UNRECEIVED.format(m=param_marker(connection)),
                [row for rows in writes.unreceived.values() for row in rows],
            )
        if writes.consumed:
            text_days = connection.dialect.name == "sqlite"
            connection.exec_driver_sql(
                _CONSUME.format(m=param_marker(connection)),
                [
                    (part, lot, day.isoformat() if text_days else day, quantity)
                    for (part, lot, day), quantity in sorted(writes.consumed.items())
                ],
            )

    def _load_stock(
        self, connection: Connection, received: set[SerialKey], counted: set[str]
    ) -> None:
        machine = self._machine
        machine.received.clear()
        machine.on_hand.clear()
        if received:
            wanted = sorted({serial for _, serial in received})
            for part, serial in select_in(connection, _RECEIVED_SERIALS, wanted):
                if (part, serial) in received:
                    machine.received.add((part, serial))
        if counted:
            parts = sorted(counted)
            machine.on_hand.update(dict.fromkeys(parts, 0))
            marker = param_marker(connection)
            values = ", ".join([marker] * len(parts))
            for part, on_hand in connection.exec_driver_sql(
                _ON_HAND.format(values=values), (*parts, *parts)
            ):
                machine.on_hand[part] = int(on_hand)

    def forget(self) -> None:
        """Drop every cache (after a rolled-back transaction)."""
        self._cars.clear()
        self._serials.clear()
        self._last_seq = None
        self._machine.changes = Changes()
        self._log_rows = []
        self._taken = 0

    def _load_cars(self, connection: Connection, vins: set[str]) -> None:
        for chunk in _chunks(sorted(vins)):
            for row in connection.execute(select(units).where(units.c.vin.in_(chunk))):
                state = UnitState(
                    vin=row.vin,
                    model=row.model,
                    color=row.color,
                    line=row.line,
                    revision=row.revision,
                    start_seq=row.start_seq,
                    started_at=row.started_at,
                    status=row.status,
                    completion_seq=row.completion_seq,
                    completed_at=row.completed_at,
                    scrapped_at=row.scrapped_at,
                    shipped_at=row.shipped_at,
                )
                rules = self.rules[state.revision]
                self._cars[row.vin] = Car(
                    state,
                    rules,
                    rules.lines[state.line],
                    **{name: getattr(row, name) for name in CAR_FIELDS},
                )
            loaded = [vin for vin in chunk if vin in self._cars]
            if not loaded:
                continue
            visits = select(station_visits.c.vin, station_visits.c.station).where(
                station_visits.c.vin.in_(loaded)
            )
            for vin, station in connection.execute(visits):
                self._cars[vin].restore_visit(station)
            recorded = select(
                defects.c.vin, defects.c.defect, defects.c.station, defects.c.closed_at
            )
            for vin, defect, station, closed_at in connection.execute(
                recorded.where(defects.c.vin.in_(loaded))
            ):
                self._cars[vin].restore_defect(defect, station, still_open=closed_at is None)
            held = select(
                installed_parts.c.vin,
                installed_parts.c.station,
                installed_parts.c.part,
                installed_parts.c.serial,
                installed_parts.c.lot,
            ).where(
                installed_parts.c.vin.in_(loaded),
                installed_parts.c.removed_at.is_(None),
            )
            for vin, station, part, serial, lot in connection.execute(held):
                self._cars[vin].restore_part(station, part, serial, lot)

    def _load_serials(self, connection: Connection, keys: set[SerialKey]) -> None:
        for key in keys:
            self._serials[key] = None
        held = select_in(connection, _HELD_SERIALS, sorted({serial for _, serial in keys}))
        for part, serial, vin in held:
            if (part, serial) in keys:
                self._serials[(part, serial)] = vin


def _chunks(items: list[_T]) -> Iterable[list[_T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
