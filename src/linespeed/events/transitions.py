"""The unit state machine's transitions: what an accepted event does to the cars and stations.

`linespeed.events.rules` says whether an event may happen; this module says what it then
does, as plain data and with no database:

- `Car`: one car's state (the `UnitState` the rules read) and the fields of its `units` row;
- `Changes`: the rows one batch of events writes to the projections (station visits,
  installed parts, inspections, defects, station states, the stock ledger) and the cars it
  starts or changes;
- `StateMachine`: the cars and serials it knows, the start and completion counters, and
  `apply`, the one transition function (event x state -> new state and rows);
- `unit_row` / `unit_changes`: a car's `units` row, or the columns events change in it
  (named by `UNIT_CHANGES`).

The store's projector loads cars into the machine, applies accepted events, and writes
`Changes` with SQL; live ingest and `linespeed rebuild` share it, so both give the same
projections. Accepted events are not checked again here: applying an event the rules would
refuse gives undefined results (a KeyError for a car never started).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from linespeed.events.rules import LineRules, PlantRules, UnitState, Usage
from linespeed.events.types import (
    DefectClosed,
    DefectOpened,
    Event,
    InspectionRecorded,
    PartInstalled,
    PartReceived,
    PartRemoved,
    StationCompleted,
    StationEntered,
    StationState,
    StockCounted,
    UnitCompleted,
    UnitScrapped,
    UnitStarted,
)

SerialKey = tuple[str, str]
"""(part, serial): one serialized piece."""
ConsumedKey = tuple[str, str, date]
"""(part, lot or "", UTC day): the pieces consumed are summed per key."""
Stamp = Callable[[datetime], Any]
"""Turns an event time into the form its rows carry (the identity, or a driver's form)."""

CAR_FIELDS: Final = (
    "current_station",
    "last_station",
    "scrap_station",
    "scrap_reason",
    "destination",
)
"""The `units` columns a `Car` keeps beside its `UnitState`."""
UNIT_CHANGES: Final = (
    "status",
    "completion_seq",
    "completed_at",
    "scrapped_at",
    "shipped_at",
    *CAR_FIELDS,
)
"""The `units` columns events change, in the order of `unit_changes`."""


@dataclass(slots=True)
class Car:
    """One car: the state the rules read, its plant revision and line, and its row's fields."""

    state: UnitState
    rules: PlantRules
    """The plant revision the car started under."""
    line: LineRules
    current_station: str | None = None
    last_station: str | None = None
    scrap_station: str | None = None
    scrap_reason: str | None = None
    destination: str | None = None

    def restore_visit(self, station: str) -> None:
        """Mark `station` completed, from a stored visit (in any order)."""
        state = self.state
        index = self.line.stations[station].index
        state.done_mask |= 1 << index
        state.last_index = max(state.last_index, index)

    def restore_defect(self, defect: str, station: str, *, still_open: bool) -> None:
        """Record a stored defect opened at `station`, still open if `still_open`."""
        self.state.defects.add(defect)
        if still_open:
            self.state.open_defects[defect] = station

    def restore_part(
        self, station: str, part: str, serial: str | None, lot: str | None = None
    ) -> None:
        """Record a stored piece the car holds: the serial of a serialized BOM part, the lot
        of a lot-tracked one."""
        bom_part = self.rules.bom.get((self.state.model, station, part))
        if bom_part is not None and bom_part.serialized:
            if serial is not None:
                self.state.serials[part] = serial
        elif lot is not None:
            self.state.lots.setdefault(part, set()).add(lot)


@dataclass(slots=True)
class Changes:
    """The rows a batch of events writes, in the tables' column order or by column name.

    Tuples: `visits` (vin, station, started_at, completed_at, result); `parts` (vin, station,
    part, serial, lot, supplier, installed_at, removed_at, correction, removed_reason);
    `inspections` (vin, station,
    check, result, value, recorded_at). Dicts keyed `b_*` name the row an update changes.
    """

    new_vins: set[str] = field(default_factory=set)
    """Cars started in this batch: their `units` rows are inserted."""
    touched_vins: set[str] = field(default_factory=set)
    """Cars an event changed in this batch: their `units` rows are updated (unless new)."""
    visits: list[tuple[Any, ...]] = field(default_factory=list)
    parts: list[tuple[Any, ...]] = field(default_factory=list)
    parts_removed: list[dict[str, Any]] = field(default_factory=list)
    """Pieces installed before this batch and replaced or removed in it: `removed_at` (and
    `removed_reason`) are set on the car's held pieces of the part (`b_vin`, `b_part`)."""
    lots_removed: list[dict[str, Any]] = field(default_factory=list)
    """As `parts_removed`, for the held pieces of one lot (`b_lot`) of a lot-tracked part."""
    inspections: list[tuple[Any, ...]] = field(default_factory=list)
    defects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """Defects opened in this batch, by (vin, defect), closed here too if they were."""
    defects_closed: list[dict[str, Any]] = field(default_factory=list)
    """Defects opened before this batch and closed in it."""
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The last `station_states` row of each station in this batch."""
    state_rows: list[dict[str, Any]] = field(default_factory=list)
    """Every `station_states` row started in this batch, in order."""
    states_ended: list[dict[str, Any]] = field(default_factory=list)
    """Stations whose state from before this batch ended in it."""
    stock_moves: list[tuple[Any, ...]] = field(default_factory=list)
    """Receipts and counts: (seq, part, kind received/adjusted, quantity, lot, supplier,
    counted, at)."""
    stock_pieces: list[tuple[Any, ...]] = field(default_factory=list)
    """Serialized pieces received: (part, serial, lot, supplier, received_at, seq)."""
    consumed: dict[ConsumedKey, int] = field(default_factory=dict)
    """Pieces consumed in this batch by (part, lot or "", UTC day): added to the store's."""
    unreceived: dict[SerialKey, list[tuple[Any, ...]]] = field(default_factory=dict)
    """Serialized pieces installed in this batch that were never received, by (part,
    serial): rows (part, serial, vin, installed_at)."""
    received_late: list[SerialKey] = field(default_factory=list)
    """Pieces received in this batch: no longer flagged as installed but never received."""


class StateMachine:
    """The cars and serials known so far, the counters, and the transitions of accepted events.

    `cars` and `serials` are caches the caller fills (`Car.restore_*`) and may clear;
    `received` (serialized pieces received) and `on_hand` (pieces of a part on hand) are
    filled by the caller for the serials (installed or received) and counted parts of a
    batch, and kept up to date here; `next_start` and `next_completion` are the numbers the
    next start and completion get.
    """

    def __init__(self, rules: dict[int, PlantRules], stamp: Stamp) -> None:
        """`rules` by plant revision; `stamp` gives the form of times in tuple rows."""
        self.rules = rules
        self.cars: dict[str, Car] = {}
        self.serials: dict[SerialKey, str | None] = {}
        """Which car holds each known serialized piece (None: no car, e.g. scrapped)."""
        self.received: set[SerialKey] = set()
        self.on_hand: dict[str, int] = {}
        self.next_start = 1
        self.next_completion = 1
        self.changes = Changes()
        self._stamp = stamp

    def apply(self, event: Event, revision: int, at: Any, seq: int = 0) -> None:
        """Apply an accepted event under plant revision `revision`; `at` is `stamp(event.ts)`,
        `seq` its number in the event log (kept with receipts and counts).

        Raises KeyError if the event names a car the machine does not know, or counts a
        part whose `on_hand` the caller did not fill.
        """
        if type(event) is StationState:
            self._station_state(event, revision)
            return
        if type(event) is UnitStarted:
            self._start(event, revision)
            return
        if type(event) is PartReceived:
            self._receive(event, at, seq)
            return
        if type(event) is StockCounted:
            self._count(event, at, seq)
            return
        car = self.cars[event.vin]
        state, changes = car.state, self.changes
        changes.touched_vins.add(event.vin)
        # The most frequent kinds first.
        if type(event) is StationCompleted:
            index = car.line.stations[event.station].index
            state.done_mask |= 1 << index
            state.last_index = index
            car.last_station = event.station
            car.current_station = None
            started_at = event.started_at
            changes.visits.append(
                (
                    state.vin,
                    event.station,
                    None if started_at is None else self._stamp(started_at),
                    at,
                    event.result,
                )
            )
            if car.line.installs_consume:
                usage = car.rules.backflush_at.get((state.model, event.station))
                if usage is not None:
                    self._consume(usage, event.ts.date())
        elif type(event) is PartInstalled:
            self._install(event, car, at)
        elif type(event) is PartRemoved:
            self._remove(event, car)
        elif type(event) is InspectionRecorded:
            changes.inspections.append(
                (state.vin, event.station, event.check, event.result, event.value, at)
            )
        elif type(event) is StationEntered:
            car.current_station = event.station
        elif type(event) is DefectOpened:
            state.defects.add(event.defect)
            state.open_defects[event.defect] = event.station
            changes.defects[(state.vin, event.defect)] = {
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
            pending = changes.defects.get((state.vin, event.defect))
            if pending is not None:
                pending.update(closing)
            else:
                changes.defects_closed.append(
                    {"b_vin": state.vin, "b_defect": event.defect, **closing}
                )
        elif type(event) is UnitScrapped:
            state.status = "scrapped"
            state.scrapped_at = event.ts
            car.scrap_station, car.scrap_reason = event.station, event.reason
            car.current_station = None
            for part, serial in state.serials.items():
                self.serials[(part, serial)] = None
        elif type(event) is UnitCompleted:
            state.status = "completed"
            state.completed_at = event.ts
            state.completion_seq = self.next_completion
            self.next_completion += 1
            car.current_station = None
            if not car.line.installs_consume:
                self._consume(car.rules.unit_usage[state.model], event.ts.date())
        else:  # UnitShipped
            state.status = "shipped"
            state.shipped_at = event.ts
            car.destination = event.destination

    def _start(self, event: UnitStarted, revision: int) -> None:
        rules = self.rules[revision]
        state = UnitState(
            vin=event.vin,
            model=event.model,
            color=event.color,
            line=event.line or rules.plant.lines[0].id,
            revision=revision,
            start_seq=self.next_start,
            started_at=event.ts,
        )
        self.next_start += 1
        self.cars[event.vin] = Car(state, rules, rules.lines[state.line])
        self.changes.new_vins.add(event.vin)

    def _install(self, event: PartInstalled, car: Car, at: Any) -> None:
        state = car.state
        bom_key = (state.model, event.station, event.part)
        bom_part = car.rules.bom.get(bom_key)
        if event.serial is not None and bom_part is not None and bom_part.serialized:
            # A serialized part installed again replaces the one the car held.
            previous = state.serials.get(event.part)
            if previous is not None:
                self.serials[(event.part, previous)] = None
                self._remove_part(state.vin, event.part, event.ts)
            state.serials[event.part] = event.serial
            key = (event.part, event.serial)
            self.serials[key] = state.vin
            if key not in self.received:
                self.changes.unreceived.setdefault(key, []).append(
                    (event.part, event.serial, state.vin, at)
                )
        elif event.lot is not None:
            state.lots.setdefault(event.part, set()).add(event.lot)
        supplier = event.supplier
        if supplier is None and bom_part is not None:
            supplier = bom_part.supplier
        self.changes.parts.append(
            (
                state.vin,
                event.station,
                event.part,
                event.serial,
                event.lot,
                supplier,
                at,
                None,
                event.correction,
                None,
            )
        )
        if car.line.installs_consume:
            pieces = car.rules.install_pieces.get(bom_key)
            if pieces:
                used = (event.part, event.lot or "", event.ts.date())
                consumed = self.changes.consumed
                consumed[used] = consumed.get(used, 0) + pieces
                if self.on_hand and event.part in self.on_hand:
                    self.on_hand[event.part] -= pieces

    def _consume(self, usage: Usage, day: date, lot: str = "") -> None:
        """Book the pieces of `usage` as consumed on `day` (from `lot`, "" for none)."""
        consumed, on_hand = self.changes.consumed, self.on_hand
        for part, pieces in usage:
            key = (part, lot, day)
            consumed[key] = consumed.get(key, 0) + pieces
            if on_hand and part in on_hand:
                on_hand[part] -= pieces

    def _receive(self, event: PartReceived, at: Any, seq: int) -> None:
        changes = self.changes
        changes.stock_moves.append(
            (seq, event.part, "received", event.quantity, event.lot, event.supplier, None, at)
        )
        for serial in event.serials or ():
            changes.stock_pieces.append((event.part, serial, event.lot, event.supplier, at, seq))
            key = (event.part, serial)
            self.received.add(key)
            changes.unreceived.pop(key, None)
            changes.received_late.append(key)
        if event.part in self.on_hand:
            self.on_hand[event.part] += event.quantity

    def _count(self, event: StockCounted, at: Any, seq: int) -> None:
        """Book the difference between the count and the pieces on hand as an adjustment."""
        difference = event.quantity - self.on_hand[event.part]
        self.changes.stock_moves.append(
            (seq, event.part, "adjusted", difference, None, None, event.quantity, at)
        )
        self.on_hand[event.part] = event.quantity

    def _remove_part(self, vin: str, part: str, removed_at: datetime) -> None:
        """Mark the serialized piece of `part` the car held as removed (it was replaced)."""
        parts = self.changes.parts
        for number, row in enumerate(parts):
            if row[0] == vin and row[2] == part and row[7] is None:
                parts[number] = (*row[:7], self._stamp(removed_at), *row[8:])
                return
        self.changes.parts_removed.append(
            {"b_vin": vin, "b_part": part, "removed_at": removed_at, "removed_reason": None}
        )

    def _remove(self, event: PartRemoved, car: Car) -> None:
        """Take the pieces `event` names out of the car: its serial of the part, or its
        pieces of the lot (of every lot without one)."""
        state, changes = car.state, self.changes
        vin, part, lot = state.vin, event.part, None
        serial = state.serials.pop(part, None)
        if serial is not None:
            self.serials[(part, serial)] = None
        else:
            held = state.lots.get(part, set())
            lot = event.lot
            if lot is None:
                held.clear()
            else:
                held.discard(lot)
        stamped = self._stamp(event.ts)
        for number, row in enumerate(changes.parts):
            if row[0] == vin and row[2] == part and row[7] is None and lot in (None, row[4]):
                changes.parts[number] = (*row[:7], stamped, row[8], event.reason)
        removal = {
            "b_vin": vin,
            "b_part": part,
            "removed_at": event.ts,
            "removed_reason": event.reason,
        }
        if lot is None:
            changes.parts_removed.append(removal)
        else:
            changes.lots_removed.append({**removal, "b_lot": lot})

    def _station_state(self, event: StationState, revision: int) -> None:
        plant = self.rules[revision].plant
        line = event.line or plant.line_of_station[event.station].id
        changes = self.changes
        pending = changes.states.get(event.station)
        if pending is not None:
            pending["ended_at"] = event.ts
        else:
            changes.states_ended.append({"b_station": event.station, "ended_at": event.ts})
        row = {
            "station": event.station,
            "line": line,
            "state": event.state,
            "reason": event.reason,
            "started_at": event.ts,
            "ended_at": None,
        }
        changes.states[event.station] = row
        changes.state_rows.append(row)


def unit_row(car: Car, stamp: Stamp) -> tuple[Any, ...]:
    """The `units` row of a car, in column order."""
    state = car.state
    changes = unit_changes(car, stamp)
    return (
        state.vin,
        state.model,
        state.color,
        state.line,
        state.revision,
        changes[0],
        state.start_seq,
        changes[1],
        stamp(state.started_at),
        *changes[2:],
    )


def unit_changes(car: Car, stamp: Stamp) -> tuple[Any, ...]:
    """What events change in a car's `units` row, in the order of `UNIT_CHANGES`."""
    state = car.state
    return (
        state.status,
        state.completion_seq,
        None if state.completed_at is None else stamp(state.completed_at),
        None if state.scrapped_at is None else stamp(state.scrapped_at),
        None if state.shipped_at is None else stamp(state.shipped_at),
        car.current_station,
        car.last_station,
        car.scrap_station,
        car.scrap_reason,
        car.destination,
    )
