"""The event kinds of contract 2 as typed, immutable structures.

Each kind is final, so code may dispatch on `type(event) is Kind` (faster than `isinstance`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal, TypeAlias, final

import msgspec

EventId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
StationResult = Literal["ok", "nok"]
CheckResult = Literal["pass", "fail"]
Severity = Literal["minor", "major", "critical"]
DefectAction = Literal["repaired", "accepted"]
StationStateName = Literal["running", "starved", "blocked", "down", "planned-stop", "changeover"]


class BaseEvent(
    msgspec.Struct,
    tag_field="kind",
    forbid_unknown_fields=True,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
):
    """Fields every event carries: the producer's `id`, `ts` with a UTC offset, the `line`.

    `simulated` is true on every event the simulator makes; only a store created with
    `linespeed init --simulation` accepts such events. Canonical JSON leaves it out when
    false, so a real event's stored body does not mention it.
    """

    id: EventId
    ts: datetime
    line: Text | None = None
    simulated: bool = False


class UnitEvent(BaseEvent, frozen=True, kw_only=True):
    """An event about one car."""

    vin: Text


@final
class UnitStarted(UnitEvent, frozen=True, kw_only=True, tag="unit.started"):
    """A car enters the line; it is given the next start sequence number."""

    model: Text
    color: Text


@final
class StationEntered(UnitEvent, frozen=True, kw_only=True, tag="station.entered"):
    """A car is at a station (optional, for live WIP)."""

    station: Text


@final
class StationCompleted(UnitEvent, frozen=True, kw_only=True, tag="station.completed"):
    """A car leaves a station."""

    station: Text
    started_at: datetime | None = None
    result: StationResult


@final
class PartInstalled(UnitEvent, frozen=True, kw_only=True, tag="part.installed"):
    """Genealogy: a part (by serial or lot) went into the car at a station.

    `correction: true` marks an engineer's correction of the genealogy (a missed scan, or
    the piece put in at rework): accepted also after the car left the station, completed
    or shipped, only from a source with the engineer role. Canonical JSON leaves it out
    when false, so the bodies of ordinary installs are as before.
    """

    station: Text
    part: Text
    serial: Text | None = None
    lot: Text | None = None
    supplier: Text | None = None
    correction: bool = False


@final
class PartRemoved(UnitEvent, frozen=True, kw_only=True, tag="part.removed"):
    """A piece taken out of the car (at rework, or an engineer's genealogy correction, also
    after shipping), for `reason`; only from a source with the engineer role.

    A serialized part may name the `serial` the car holds, a lot-tracked part the `lot`;
    without them, every piece of `part` the car holds is removed.
    """

    part: Text
    reason: Text
    serial: Text | None = None
    lot: Text | None = None


@final
class InspectionRecorded(UnitEvent, frozen=True, kw_only=True, tag="inspection.recorded"):
    """A check at a station, passed or failed, with an optional measured value."""

    station: Text
    check: Text
    result: CheckResult
    value: float | None = None


@final
class DefectOpened(UnitEvent, frozen=True, kw_only=True, tag="defect.opened"):
    """A defect found on the car; it holds the car at the next quality gate."""

    station: Text
    defect: Text
    code: Text
    severity: Severity


@final
class DefectClosed(UnitEvent, frozen=True, kw_only=True, tag="defect.closed"):
    """A defect repaired or accepted; `station` is where, if on the line."""

    defect: Text
    action: DefectAction
    station: Text | None = None


@final
class UnitScrapped(UnitEvent, frozen=True, kw_only=True, tag="unit.scrapped"):
    """The car leaves production."""

    station: Text
    reason: Text


@final
class UnitCompleted(UnitEvent, frozen=True, kw_only=True, tag="unit.completed"):
    """The car rolls off the line; it is given the next completion number."""


@final
class UnitShipped(UnitEvent, frozen=True, kw_only=True, tag="unit.shipped"):
    """The car leaves the plant."""

    destination: Text | None = None


@final
class StationState(BaseEvent, frozen=True, kw_only=True, tag="station.state"):
    """A station changes state: running, starved, blocked, down, planned-stop, changeover."""

    station: Text
    state: StationStateName
    reason: Text | None = None


@final
class PartReceived(BaseEvent, frozen=True, kw_only=True, tag="part.received"):
    """Goods receipt at the plant: `quantity` pieces of `part` from `supplier`.

    A lot-tracked receipt names its `lot`; a serialized part lists one serial per piece in
    `serials` (as many as `quantity`).
    """

    part: Text
    quantity: int
    supplier: Text
    lot: Text | None = None
    serials: tuple[Text, ...] | None = None


@final
class StockCounted(BaseEvent, frozen=True, kw_only=True, tag="stock.counted"):
    """A physical count of `part` on hand; the difference is booked as an adjustment."""

    part: Text
    quantity: int


Event: TypeAlias = (
    UnitStarted
    | StationEntered
    | StationCompleted
    | PartInstalled
    | InspectionRecorded
    | DefectOpened
    | DefectClosed
    | UnitScrapped
    | UnitCompleted
    | UnitShipped
    | StationState
    | PartReceived
    | StockCounted
    | PartRemoved
)
"""Any event of contract 2."""

EVENT_TYPES: Final[tuple[type[BaseEvent], ...]] = (
    UnitStarted,
    StationEntered,
    StationCompleted,
    PartInstalled,
    InspectionRecorded,
    DefectOpened,
    DefectClosed,
    UnitScrapped,
    UnitCompleted,
    UnitShipped,
    StationState,
    PartReceived,
    StockCounted,
    PartRemoved,
)

KINDS: Final[tuple[str, ...]] = tuple(str(cls.__struct_config__.tag) for cls in EVENT_TYPES)
"""Every event kind name, in contract order."""
