"""Projections: what accepted events do to cars, parts, defects and stations, written in batches.

The same code serves live ingest and `linespeed rebuild`, so both give the same tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, TypeVar

from sqlalchemy import Connection, and_, bindparam, func, select

from linespeed.events.rules import LineRules, PlantRules, UnitState, rules_by_revision
from linespeed.events.types import (
    EVENT_TYPES,
    DefectClosed,
    DefectOpened,
    Event,
    InspectionRecorded,
    PartInstalled,
    StationCompleted,
    StationEntered,
    StationState,
    UnitCompleted,
    UnitScrapped,
    UnitShipped,
    UnitStarted,
)
from linespeed.plant.model import Plant
from linespeed.store.bulk import Stamp, insert_rows, select_in, update_rows
from linespeed.store.schema import (
    defects,
    events,
    inspections,
    installed_parts,
    station_states,
    station_visits,
    units,
)

SerialKey = tuple[str, str]
_HELD_SERIALS: Final = (
    "SELECT p.part, p.serial, p.vin FROM installed_parts p JOIN units u ON u.vin = p.vin"
    " WHERE p.serial IN ({values}) AND p.removed_at IS NULL AND u.status <> 'scrapped'"
)
_T = TypeVar("_T")
_CHUNK: Final = 400
_MAX_CACHED_UNITS: Final = 200_000
_CAR_FIELDS: Final = (
    "current_station",
    "last_station",
    "scrap_station",
    "scrap_reason",
    "destination",
)
_UNIT_CHANGES: Final = (
    "status",
    "completion_seq",
    "completed_at",
    "scrapped_at",
    "shipped_at",
    *_CAR_FIELDS,
)
_KINDS: Final = {cls: str(cls.__struct_config__.tag) for cls in EVENT_TYPES}


@dataclass(slots=True)
class _CarRow:
    state: UnitState
    rules: PlantRules
    """The plant revision the car started under."""
    line: LineRules
    current_station: str | None = None
    last_station: str | None = None
    scrap_station: str | None = None
    scrap_reason: str | None = None
    destination: str | None = None


@dataclass
class _Writes:
    events: list[tuple[Any, ...]] = field(default_factory=list)
    new_vins: set[str] = field(default_factory=set)
    touched_vins: set[str] = field(default_factory=set)
    visits: list[tuple[Any, ...]] = field(default_factory=list)
    parts: list[tuple[Any, ...]] = field(default_factory=list)
    parts_removed: list[dict[str, Any]] = field(default_factory=list)
    inspections: list[tuple[Any, ...]] = field(default_factory=list)
    defects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    defects_closed: list[dict[str, Any]] = field(default_factory=list)
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    state_rows: list[dict[str, Any]] = field(default_factory=list)
    states_ended: list[dict[str, Any]] = field(default_factory=list)


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
        self._cars: dict[str, _CarRow] = {}
        self._serials: dict[SerialKey, str | None] = {}
        self._last_seq: int | None = None
        self._next_seq = 1
        self._next_start = 1
        self._next_completion = 1
        self._writes = _Writes()
        self._log_events = log_events

    def begin(
        self, connection: Connection, vins: Iterable[str], serials: Iterable[SerialKey]
    ) -> None:
        """Read what the coming events need: counters, and the cars and serials not cached."""
        last_seq = connection.execute(select(func.max(events.c.seq))).scalar() or 0
        if last_seq != self._last_seq or len(self._cars) > _MAX_CACHED_UNITS:
            self._cars.clear()
            self._serials.clear()
        self._next_seq = last_seq + 1
        self._next_start = (
            connection.execute(select(func.max(units.c.start_seq))).scalar() or 0
        ) + 1
        self._next_completion = (
            connection.execute(select(func.max(units.c.completion_seq))).scalar() or 0
        ) + 1
        self._load_cars(connection, {vin for vin in vins if vin not in self._cars})
        self._load_serials(connection, {key for key in serials if key not in self._serials})
        self._writes = _Writes()
        self._stamps.clear()

    def unit(self, vin: str) -> UnitState | None:
        """The state of car `vin`, or None if it was never started."""
        car = self._cars.get(vin)
        return None if car is None else car.state

    def serial_owner(self, part: str, serial: str) -> str | None:
        """The car that holds this serial of `part` now, if any (scrapped cars hold none)."""
        return self._serials.get((part, serial))

    def apply(self, event: Event, body: str, id_scope: str, revision: int) -> None:
        """Record an accepted event: its log row (with the scope of its idempotency key,
        `station:<id>` or `line:<id>`) and what it changes in the projections."""
        writes = self._writes
        at = self._stamps.get(event.ts)
        if at is None:
            at = self._stamp_of(event.ts)
        vin = None if type(event) is StationState else event.vin
        if self._log_events:
            writes.events.append(
                (self._next_seq, event.id, _KINDS[type(event)], at, vin, revision, body, id_scope)
            )
            self._next_seq += 1
        if type(event) is StationState:
            self._apply_station_state(event, revision)
            return
        if type(event) is UnitStarted:
            self._start(event, revision)
            return
        car = self._cars[event.vin]
        writes.touched_vins.add(event.vin)
        self._apply_to_car(event, car, at)

    def _stamp_of(self, value: datetime) -> Any:
        """The driver's form of a timestamp, remembered for the batch (times repeat often)."""
        stamped = self._stamps.get(value)
        if stamped is None:
            stamped = self._stamps[value] = self._stamp(value)
        return stamped

    def _start(self, event: UnitStarted, revision: int) -> None:
        rules = self.rules[revision]
        state = UnitState(
            vin=event.vin,
            model=event.model,
            color=event.color,
            line=event.line or rules.plant.lines[0].id,
            revision=revision,
            start_seq=self._next_start,
            started_at=event.ts,
        )
        self._next_start += 1
        self._cars[event.vin] = _CarRow(state, rules, rules.lines[state.line])
        self._writes.new_vins.add(event.vin)

    def _apply_to_car(
        self,
        event: StationEntered
        | StationCompleted
        | PartInstalled
        | InspectionRecorded
        | DefectOpened
        | DefectClosed
        | UnitScrapped
        | UnitCompleted
        | UnitShipped,
        car: _CarRow,
        at: Any,
    ) -> None:
        """Apply a car's event; `at` is the event's `ts` in the driver's form."""
        state, writes = car.state, self._writes
        # The most frequent kinds first.
        if type(event) is StationCompleted:
            index = car.line.stations[event.station].index
            state.done_mask |= 1 << index
            state.last_index = index
            car.last_station = event.station
            car.current_station = None
            started_at = event.started_at
            writes.visits.append(
                (
                    state.vin,
                    event.station,
                    None if started_at is None else self._stamp_of(started_at),
                    at,
                    event.result,
                )
            )
        elif type(event) is PartInstalled:
            self._install(event, car, at)
        elif type(event) is InspectionRecorded:
            writes.inspections.append(
                (state.vin, event.station, event.check, event.result, event.value, at)
            )
        elif type(event) is StationEntered:
            car.current_station = event.station
        elif type(event) is DefectOpened:
            state.defects.add(event.defect)
            state.open_defects[event.defect] = event.station
            writes.defects[(state.vin, event.defect)] = {
                "vin": state.vin,
                "defect": event.defect,
                "station": event.station,
                "code": event.code,
                "severity": event.severity,
                "opened_at": event.ts,
                "closed_at": None,
                "action": None,
                "closed_station": None,
            }
        elif type(event) is DefectClosed:
            state.open_defects.pop(event.defect, None)
            closing = {
                "closed_at": event.ts,
                "action": event.action,
                "closed_station": event.station,
            }
            pending = writes.defects.get((state.vin, event.defect))
            if pending is not None:
                pending.update(closing)
            else:
                writes.defects_closed.append(
                    {"b_vin": state.vin, "b_defect": event.defect, **closing}
                )
        elif type(event) is UnitScrapped:
            state.status = "scrapped"
            state.scrapped_at = event.ts
            car.scrap_station, car.scrap_reason = event.station, event.reason
            car.current_station = None
            for part, serial in state.serials.items():
                self._serials[(part, serial)] = None
        elif type(event) is UnitCompleted:
            state.status = "completed"
            state.completed_at = event.ts
            state.completion_seq = self._next_completion
            self._next_completion += 1
            car.current_station = None
        else:
            state.status = "shipped"
            state.shipped_at = event.ts
            car.destination = event.destination

    def _install(self, event: PartInstalled, car: _CarRow, at: Any) -> None:
        state = car.state
        bom_part = car.rules.bom.get((state.model, event.station, event.part))
        if event.serial is not None and bom_part is not None and bom_part.serialized:
            # A serialized part installed again replaces the one the car held.
            previous = state.serials.get(event.part)
            if previous is not None:
                self._serials[(event.part, previous)] = None
                self._remove_part(state.vin, event.part, event.ts)
            state.serials[event.part] = event.serial
            self._serials[(event.part, event.serial)] = state.vin
        supplier = event.supplier
        if supplier is None and bom_part is not None:
            supplier = bom_part.supplier
        self._writes.parts.append(
            (state.vin, event.station, event.part, event.serial, event.lot, supplier, at, None)
        )

    def _remove_part(self, vin: str, part: str, removed_at: datetime) -> None:
        parts = self._writes.parts
        for number, row in enumerate(parts):
            if row[0] == vin and row[2] == part and row[7] is None:
                parts[number] = (*row[:7], self._stamp_of(removed_at))
                return
        self._writes.parts_removed.append({"b_vin": vin, "b_part": part, "removed_at": removed_at})

    def _apply_station_state(self, event: StationState, revision: int) -> None:
        plant = self.rules[revision].plant
        line = event.line or plant.line_of_station[event.station].id
        writes = self._writes
        pending = writes.states.get(event.station)
        if pending is not None:
            pending["ended_at"] = event.ts
        else:
            writes.states_ended.append({"b_station": event.station, "ended_at": event.ts})
        row = {
            "station": event.station,
            "line": line,
            "state": event.state,
            "reason": event.reason,
            "started_at": event.ts,
            "ended_at": None,
        }
        writes.states[event.station] = row
        writes.state_rows.append(row)

    def flush(self, connection: Connection) -> int:
        """Write everything applied since `begin`; returns the number of events written."""
        writes = self._writes
        insert_rows(connection, events, writes.events)
        insert_rows(connection, units, [self._unit_row(vin) for vin in writes.new_vins])
        update_rows(
            connection,
            units,
            _UNIT_CHANGES,
            ("vin",),
            [(*self._unit_changes(vin), vin) for vin in writes.touched_vins - writes.new_vins],
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
        written = len(writes.events)
        self._last_seq = self._next_seq - 1
        self._writes = _Writes()
        return written

    def forget(self) -> None:
        """Drop every cache (after a rolled-back transaction)."""
        self._cars.clear()
        self._serials.clear()
        self._last_seq = None
        self._writes = _Writes()

    def _unit_row(self, vin: str) -> tuple[Any, ...]:
        """The `units` row of a car, in column order."""
        state = self._cars[vin].state
        changes = self._unit_changes(vin)
        return (
            vin,
            state.model,
            state.color,
            state.line,
            state.revision,
            changes[0],
            state.start_seq,
            changes[1],
            self._stamp_of(state.started_at),
            *changes[2:],
        )

    def _unit_changes(self, vin: str) -> tuple[Any, ...]:
        """What events change in a car's `units` row, in the order of `_UNIT_CHANGES`."""
        car = self._cars[vin]
        state = car.state
        return (
            state.status,
            state.completion_seq,
            self._stamp_or_none(state.completed_at),
            self._stamp_or_none(state.scrapped_at),
            self._stamp_or_none(state.shipped_at),
            car.current_station,
            car.last_station,
            car.scrap_station,
            car.scrap_reason,
            car.destination,
        )

    def _stamp_or_none(self, value: datetime | None) -> Any:
        return None if value is None else self._stamp_of(value)

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
                self._cars[row.vin] = _CarRow(
                    state,
                    rules,
                    rules.lines[state.line],
                    **{name: getattr(row, name) for name in _CAR_FIELDS},
                )
            loaded = [vin for vin in chunk if vin in self._cars]
            if not loaded:
                continue
            visits = select(station_visits.c.vin, station_visits.c.station).where(
                station_visits.c.vin.in_(loaded)
            )
            for vin, station in connection.execute(visits):
                car = self._cars[vin]
                state = car.state
                index = car.line.stations[station].index
                state.done_mask |= 1 << index
                state.last_index = max(state.last_index, index)
            recorded = select(
                defects.c.vin, defects.c.defect, defects.c.station, defects.c.closed_at
            )
            for vin, defect, station, closed_at in connection.execute(
                recorded.where(defects.c.vin.in_(loaded))
            ):
                state = self._cars[vin].state
                state.defects.add(defect)
                if closed_at is None:
                    state.open_defects[defect] = station
            held = select(
                installed_parts.c.vin,
                installed_parts.c.station,
                installed_parts.c.part,
                installed_parts.c.serial,
            ).where(
                installed_parts.c.vin.in_(loaded),
                installed_parts.c.serial.is_not(None),
                installed_parts.c.removed_at.is_(None),
            )
            for vin, station, part, serial in connection.execute(held):
                car = self._cars[vin]
                bom_part = car.rules.bom.get((car.state.model, station, part))
                if bom_part is not None and bom_part.serialized:
                    car.state.serials[part] = serial

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
