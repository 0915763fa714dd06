"""Forward trace (recall scoping): every car that holds a given part, lot, serial or supplier."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal, get_args

from sqlalchemy import Connection, Engine, and_, exists, select

from linespeed.errors import LinespeedError
from linespeed.store.plants import current_revision, load_plants, plant_timezone
from linespeed.store.schema import installed_parts, units

CarStatus = Literal["in_production", "completed", "shipped", "scrapped"]
"""Where a car is in its life: on the line, built, gone to the customer, or out of production."""
StatusFilter = Literal["in-plant", "completed", "shipped"]
"""`in-plant`: cars still in the plant (on the line, or built and not shipped)."""

CAR_STATUSES: Final[tuple[CarStatus, ...]] = get_args(CarStatus)
_FILTERED: Final[dict[str, tuple[str, ...]]] = {
    "in-plant": ("in_production", "completed"),
    "completed": ("completed",),
    "shipped": ("shipped",),
}


class TraceInputError(LinespeedError):
    """A trace question that cannot be asked: an unknown part, lot, serial or supplier."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="trace.input")


@dataclass(frozen=True)
class RecalledCar:
    """A car that holds a matching piece: what it is, where it is, and which piece."""

    vin: str
    model: str
    color: str
    status: CarStatus
    station: str | None
    """The station the car is at (on the line), or the last it passed."""
    completed_at: datetime | None
    shipped_at: datetime | None
    destination: str | None
    scrapped_at: datetime | None
    part: str
    serial: str | None
    lot: str | None
    supplier: str | None
    installed_station: str
    installed_at: datetime


@dataclass(frozen=True)
class Recall:
    """The cars holding a matching piece, in build order, and how many are in each status.

    `counts` counts the cars listed (after the status filter), every status present. Times
    are UTC; `timezone` is the plant's.
    """

    part: str
    lots: list[str]
    serial: str | None
    supplier: str | None
    installed_from: datetime | None
    installed_to: datetime | None
    status: StatusFilter | None
    timezone: str
    cars: list[RecalledCar]
    counts: dict[str, int] = field(default_factory=dict)


def part_recall(
    engine: Engine,
    part: str,
    *,
    lots: Sequence[str] = (),
    serial: str | None = None,
    supplier: str | None = None,
    installed_from: datetime | None = None,
    installed_to: datetime | None = None,
    status: StatusFilter | None = None,
) -> Recall:
    """Every car that holds (has not had replaced) a piece of `part` matching the filters.

    Give lots, a serial or a supplier (any of them narrows the search); `installed_from`
    and `installed_to` bound the installation time (inclusive, aware datetimes). A match
    that leaves no car after the time or status filters is an empty recall, not an error.
    Raises TraceInputError (trace.input) for no lot, serial or supplier, a part in no BOM,
    a lot, serial or supplier never recorded for the part, a naive time or a window that
    ends before it starts, or an unknown status filter.
    """
    _check_question(lots, serial, supplier, installed_from, installed_to, status)
    narrowing = [installed_parts.c.part == part]
    if lots:
        narrowing.append(installed_parts.c.lot.in_(sorted(set(lots))))
    if serial is not None:
        narrowing.append(installed_parts.c.serial == serial)
    if supplier is not None:
        narrowing.append(installed_parts.c.supplier == supplier)
    if installed_from is not None:
        narrowing.append(installed_parts.c.installed_at >= installed_from)
    if installed_to is not None:
        narrowing.append(installed_parts.c.installed_at <= installed_to)
    narrowing.append(installed_parts.c.removed_at.is_(None))
    if status is not None:
        narrowing.append(units.c.status.in_(_FILTERED[status]))
    with engine.connect() as connection:
        _check_recorded(connection, part, lots, serial, supplier)
        rows = connection.execute(
            select(
                units.c.vin,
                units.c.model,
                units.c.color,
                units.c.status,
                units.c.current_station,
                units.c.last_station,
                units.c.completed_at,
                units.c.shipped_at,
                units.c.destination,
                units.c.scrapped_at,
                installed_parts.c.part,
                installed_parts.c.serial,
                installed_parts.c.lot,
                installed_parts.c.supplier,
                installed_parts.c.station,
                installed_parts.c.installed_at,
            )
            .select_from(installed_parts.join(units, units.c.vin == installed_parts.c.vin))
            .where(and_(*narrowing))
            .order_by(units.c.start_seq, installed_parts.c.installed_at)
        ).all()
        timezone = plant_timezone(connection, current_revision(connection) or 1)
    cars = [
        RecalledCar(
            vin=row.vin,
            model=row.model,
            color=row.color,
            status=row.status,
            station=row.current_station or row.last_station,
            completed_at=row.completed_at,
            shipped_at=row.shipped_at,
            destination=row.destination,
            scrapped_at=row.scrapped_at,
            part=row.part,
            serial=row.serial,
            lot=row.lot,
            supplier=row.supplier,
            installed_station=row.station,
            installed_at=row.installed_at,
        )
        for row in rows
    ]
    listed = Counter(car.status for car in {car.vin: car for car in cars}.values())
    return Recall(
        part=part,
        lots=sorted(set(lots)),
        serial=serial,
        supplier=supplier,
        installed_from=installed_from,
        installed_to=installed_to,
        status=status,
        timezone=timezone,
        cars=cars,
        counts={name: listed[name] for name in CAR_STATUSES},
    )


def _check_question(
    lots: Sequence[str],
    serial: str | None,
    supplier: str | None,
    installed_from: datetime | None,
    installed_to: datetime | None,
    status: str | None,
) -> None:
    if not lots and serial is None and supplier is None:
        raise TraceInputError("name the pieces to trace: give --lot, --serial or --supplier")
    for name, value in (("--from", installed_from), ("--to", installed_to)):
        if value is not None and value.utcoffset() is None:
            raise TraceInputError(
                f"{name} {value.isoformat()} has no UTC offset: write it as 2025-06-30T08:00+08:00"
            )
    if installed_from is not None and installed_to is not None and installed_to < installed_from:
        raise TraceInputError(
            f"--to {installed_to.isoformat()} is before --from {installed_from.isoformat()}"
        )
    if status is not None and status not in _FILTERED:
        raise TraceInputError(f"status {status!r} is not one of {', '.join(_FILTERED)}")


def _check_recorded(
    connection: Connection,
    part: str,
    lots: Sequence[str],
    serial: str | None,
    supplier: str | None,
) -> None:
    """Raise TraceInputError naming a lot, serial or supplier never recorded for `part`."""
    for name, values, column in (
        ("lot", sorted(set(lots)), installed_parts.c.lot),
        ("serial", [serial] if serial is not None else [], installed_parts.c.serial),
        ("supplier", [supplier] if supplier is not None else [], installed_parts.c.supplier),
    ):
        for value in values:
            seen = select(exists().where(and_(installed_parts.c.part == part, column == value)))
            if connection.execute(seen).scalar():
                continue
            bom = {
                line.part
                for p in load_plants(connection).values()
                for m in p.models
                for line in m.parts
            }
            if part not in bom:
                raise TraceInputError(f"part {part!r} is in no bill of materials of this plant")
            raise TraceInputError(f"{name} {value!r} of part {part!r} was never recorded")
