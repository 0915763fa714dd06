"""Backward trace: every part in a car, and where each serialized piece has been."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import Engine

from linespeed.errors import NotFoundError
from linespeed.plant.vin import validate_vin
from linespeed.store.engine import read_connection
from linespeed.store.plants import plant_summary
from linespeed.store.reads import select_rows, stamp_reader_for


@dataclass(frozen=True)
class OtherCar:
    """Another car that held the same serialized piece, and when."""

    vin: str
    installed_at: datetime
    removed_at: datetime | None


@dataclass(frozen=True)
class TracedPart:
    """One piece installed in the car; `removed_at` is set when it was replaced or removed
    (`removed_reason` says why, for a `part.removed`), `correction` when an engineer's
    correction put it in: the original and the correction are both listed.

    For a part the BOM tracks by serial, `other_cars` lists every other car that held this
    very piece (`moved` says whether there is any). A lot-tracked part has none: many cars
    share a lot by design.
    """

    part: str
    serial: str | None
    lot: str | None
    supplier: str | None
    station: str
    installed_at: datetime
    removed_at: datetime | None
    removed_reason: str | None
    correction: bool
    moved: bool
    other_cars: list[OtherCar]


@dataclass(frozen=True)
class VinTrace:
    """A car's genealogy; times are UTC, `timezone` is the plant's."""

    vin: str
    model: str
    color: str
    status: str
    timezone: str
    parts: list[TracedPart]


_TRACE_SQL: Final = (
    # The car, then each piece in it, and each other car that held the same serial of the
    # same part: one round trip.
    "SELECT u.model, u.color, u.status, u.revision, r.sha256,"
    " p.part, p.serial, p.lot, p.supplier, p.station, p.installed_at, p.removed_at,"
    " p.removed_reason, p.correction,"
    " o.vin, o.installed_at, o.removed_at"
    " FROM units u JOIN plant_revisions r ON r.revision = u.revision"
    " LEFT JOIN installed_parts p ON p.vin = u.vin"
    " LEFT JOIN installed_parts o"
    " ON o.serial = p.serial AND o.part = p.part AND o.vin <> p.vin"
    " WHERE u.vin = {} ORDER BY p.installed_at, p.part, p.serial, o.installed_at"
)


def vin_trace(engine: Engine, vin: str) -> VinTrace:
    """Every part installed in car `vin`, in installation order, with where serials moved.

    Raises VinError (vin.invalid, vin.check_digit) for a malformed VIN and NotFoundError if
    no car with this VIN was started.
    """
    with read_connection(engine) as connection:
        read = stamp_reader_for(connection.dialect)
        rows = select_rows(connection, _TRACE_SQL, vin)
        if not rows:
            validate_vin(vin)
            raise NotFoundError(f"no car with VIN {vin} was started in this database")
        model, color, status, revision, sha256 = rows[0][:5]
        plant = plant_summary(connection, revision, sha256)
    parts: list[tuple[Any, ...]] = []
    elsewhere: dict[tuple[str, str], list[OtherCar]] = {}
    for row in rows:
        piece, (other_vin, other_installed_at, other_removed_at) = tuple(row[5:14]), row[14:]
        if piece[0] is None:
            continue  # a car with no parts yet
        # A piece held by several other cars comes once per other car, rows together.
        if other_vin is None or not parts or parts[-1] != piece:
            parts.append(piece)
        part, serial = piece[0], piece[1]
        if other_vin is not None and part in plant.serialized_parts:
            elsewhere.setdefault((part, serial), []).append(
                OtherCar(
                    other_vin, cast(datetime, read(other_installed_at)), read(other_removed_at)
                )
            )
    return VinTrace(
        vin=vin,
        model=model,
        color=color,
        status=status,
        timezone=plant.timezone,
        parts=[
            TracedPart(
                part=part,
                serial=serial,
                lot=lot,
                supplier=supplier,
                station=station,
                installed_at=cast(datetime, read(installed_at)),
                removed_at=read(removed_at),
                removed_reason=removed_reason,
                correction=bool(correction),
                moved=(part, serial) in elsewhere,
                other_cars=elsewhere.get((part, serial), []),
            )
            for (
                part,
                serial,
                lot,
                supplier,
                station,
                installed_at,
                removed_at,
                removed_reason,
                correction,
            ) in parts
        ],
    )
