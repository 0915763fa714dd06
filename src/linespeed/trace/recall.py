"""Forward trace (recall scoping): every car that holds a given part, lot, serial or supplier."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal, get_args
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import Connection, Engine, and_, exists, select

from linespeed.events.codec import EARLIEST_TS, LATEST_TS
from linespeed.store.engine import read_connection
from linespeed.store.plants import (
    current_plant_id,
    current_revision,
    load_plants,
    plant_timezone,
)
from linespeed.store.reads import StampReader, select_rows, stamp_reader_for
from linespeed.store.schema import installed_parts
from linespeed.store.writes import stamp_for
from linespeed.trace.errors import TraceInputError

CarStatus = Literal["in_production", "completed", "shipped", "scrapped"]
"""Where a car is in its life: on the line, built, gone to the customer, or out of production."""
StatusFilter = Literal["in-plant", "completed", "shipped"]
"""`in-plant`: cars still in the plant (on the line, or built and not shipped)."""

CAR_STATUSES: Final[tuple[CarStatus, ...]] = get_args(CarStatus)
EARLIEST: Final = EARLIEST_TS
LATEST: Final = LATEST_TS
"""Installation times asked about lie inside [EARLIEST, LATEST]: times outside cannot be
stored or computed with (the same bounds as ingest's `ts.out_of_range`)."""
_FILTERED: Final[dict[str, tuple[str, ...]]] = {
    "in-plant": ("in_production", "completed"),
    "completed": ("completed",),
    "shipped": ("shipped",),
}


_RECALL_SQL: Final = (
    "SELECT u.vin, u.model, u.color, u.status, u.current_station, u.last_station,"
    " u.completed_at, u.shipped_at, u.destination, u.scrapped_at,"
    " p.part, p.serial, p.lot, p.supplier, p.station AS installed_station, p.installed_at,"
    " u.start_seq"
    " FROM installed_parts p JOIN units u ON u.vin = p.vin WHERE "
)
_INSTALLED_AT: Final = 15
_START_SEQ: Final = 16
"""Positions of `_RECALL_SQL`'s columns that order the cars."""


class RecalledCar(msgspec.Struct, frozen=True, gc=False):
    """A car that holds a matching piece: what it is, where it is, and which piece.

    `station` is the station the car is at (on the line), or the last it passed.
    """

    vin: str
    model: str
    color: str
    status: CarStatus
    station: str | None
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
    plant: str
    """The plant that built the car."""


@dataclass(frozen=True)
class Recall:
    """The cars holding a matching piece, in build order, and how many are in each status.

    `counts` counts the cars listed (after the status filter), every status present. Times
    are UTC; `timezone` is the (first) plant's; `plants` are the plants searched.
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
    plants: list[str] = field(default_factory=list)

    def answer(self) -> dict[str, Any]:
        """What `trace part --json` prints and the API answers: cars, counts, plants."""
        return {"cars": self.cars, "counts": self.counts, "plants": self.plants}


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
    a lot, serial or supplier never recorded for the part, a naive time, a time before 1970
    or after 2200 (UTC), a window that ends before it starts, or an unknown status filter.
    """
    wanted_lots = sorted(set(lots))
    with read_connection(engine) as connection:
        timezone = plant_timezone(connection, current_revision(connection) or 1)
        plant = current_plant_id(connection) or ""
        _check_question(lots, serial, supplier, installed_from, installed_to, status, timezone)
        _check_recorded(connection, part, wanted_lots, serial, supplier)
        stamp, read = stamp_for(connection.dialect), stamp_reader_for(connection.dialect)
        where, values = ["p.part = {}", "p.removed_at IS NULL"], [part]
        if wanted_lots:
            where.append(f"p.lot IN ({', '.join(['{}'] * len(wanted_lots))})")
            values.extend(wanted_lots)
        for condition, value in (
            ("p.serial = {}", serial),
            ("p.supplier = {}", supplier),
            ("p.installed_at >= {}", None if installed_from is None else stamp(installed_from)),
            ("p.installed_at <= {}", None if installed_to is None else stamp(installed_to)),
        ):
            if value is not None:
                where.append(condition)
                values.append(value)
        if status is not None:
            where.append(f"u.status IN ({', '.join(['{}'] * len(_FILTERED[status]))})")
            values.extend(_FILTERED[status])
        rows = select_rows(connection, _RECALL_SQL + " AND ".join(where), *values)
    # In build order; sorted here, where it costs less than in the database.
    cars = [_recalled(row, read, plant) for row in sorted(rows, key=_build_order)]
    listed = Counter(car.status for car in {car.vin: car for car in cars}.values())
    return Recall(
        part=part,
        lots=wanted_lots,
        serial=serial,
        supplier=supplier,
        installed_from=installed_from,
        installed_to=installed_to,
        status=status,
        timezone=timezone,
        cars=cars,
        counts={name: listed[name] for name in CAR_STATUSES},
        plants=[plant],
    )


def plants_recall(
    engines: Sequence[Engine],
    part: str,
    *,
    lots: Sequence[str] = (),
    serial: str | None = None,
    supplier: str | None = None,
    installed_from: datetime | None = None,
    installed_to: datetime | None = None,
    status: StatusFilter | None = None,
) -> Recall:
    """`part_recall` over the stores of several plants: each plant's cars in build order, each
    car with its plant, counts summed.

    A lot, serial or supplier recorded in one plant only is no error in the others. Raises
    TraceInputError as `part_recall` does when every plant refuses the question (the first
    plant's error).
    """
    found: list[Recall] = []
    refusals: list[TraceInputError] = []
    for engine in engines:
        try:
            found.append(
                part_recall(
                    engine,
                    part,
                    lots=lots,
                    serial=serial,
                    supplier=supplier,
                    installed_from=installed_from,
                    installed_to=installed_to,
                    status=status,
                )
            )
        except TraceInputError as error:
            refusals.append(error)
    if not found:
        raise refusals[0]
    first = found[0]
    return Recall(
        part=part,
        lots=first.lots,
        serial=serial,
        supplier=supplier,
        installed_from=installed_from,
        installed_to=installed_to,
        status=status,
        timezone=first.timezone,
        cars=[car for one in found for car in one.cars],
        counts={name: sum(one.counts[name] for one in found) for name in CAR_STATUSES},
        plants=[plant for one in found for plant in one.plants],
    )


def _build_order(row: tuple[Any, ...]) -> tuple[int, Any]:
    return row[_START_SEQ], row[_INSTALLED_AT]


def _recalled(row: tuple[Any, ...], read: StampReader, plant: str) -> RecalledCar:
    """A car of the recall from one row of _RECALL_SQL, its columns read by position (a
    recall lists thousands of cars, and reading a row's columns by name costs more than
    making the car)."""
    (
        vin,
        model,
        color,
        status,
        current_station,
        last_station,
        completed_at,
        shipped_at,
        destination,
        scrapped_at,
        part,
        serial,
        lot,
        supplier,
        installed_station,
        installed_at,
        _,
    ) = row
    return RecalledCar(
        vin,
        model,
        color,
        status,
        current_station or last_station,
        read(completed_at),
        read(shipped_at),
        destination,
        read(scrapped_at),
        part,
        serial,
        lot,
        supplier,
        installed_station,
        read(installed_at),  # type: ignore[arg-type]  # never NULL
        plant,
    )


def _check_question(
    lots: Sequence[str],
    serial: str | None,
    supplier: str | None,
    installed_from: datetime | None,
    installed_to: datetime | None,
    status: str | None,
    timezone: str,
) -> None:
    if not lots and serial is None and supplier is None:
        raise TraceInputError(
            lambda n: (
                f"name the pieces to trace: give {n('lot')}, {n('serial')} or {n('supplier')}"
            ),
            parameter="lot",
        )
    for name, value in (("from", installed_from), ("to", installed_to)):
        if value is not None:
            _check_time(name, value, timezone)
    if installed_from is not None and installed_to is not None and installed_to < installed_from:
        raise TraceInputError(
            lambda n: (
                f"{n('to')} {installed_to.isoformat()} is before"
                f" {n('from')} {installed_from.isoformat()}"
            ),
            parameter="to",
            value=installed_to,
        )
    if status is not None and status not in _FILTERED:
        raise TraceInputError(
            f"status {status!r} is not one of {', '.join(_FILTERED)}",
            parameter="status",
            value=status,
        )


def _check_time(name: str, value: datetime, timezone: str) -> None:
    """Raise TraceInputError if `value` has no UTC offset (the hint gives the offset of
    `timezone`, the plant's, at that time) or lies outside EARLIEST to LATEST."""
    if value.utcoffset() is None:
        local = value.replace(tzinfo=ZoneInfo(timezone)).isoformat(timespec="minutes")
        raise TraceInputError(
            lambda n: f"{n(name)} {value.isoformat()} has no UTC offset: write it as {local}",
            parameter=name,
            value=value,
        )
    try:
        inside = EARLIEST <= value.astimezone(UTC) <= LATEST
    except OverflowError:  # year 1 east of UTC, year 9999 west of it
        inside = False
    if not inside:
        raise TraceInputError(
            lambda n: (
                f"{n(name)} {value.isoformat()} is outside"
                f" {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d} UTC"
            ),
            parameter=name,
            value=value,
        )


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
                raise TraceInputError(
                    f"part {part!r} is in no bill of materials of this plant",
                    parameter="part",
                    value=part,
                )
            raise TraceInputError(
                f"{name} {value!r} of part {part!r} was never recorded",
                parameter=name,
                value=value,
            )
