"""Backward trace: every part in a car, and where each serialized piece has been."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, and_, select

from linespeed.errors import NotFoundError
from linespeed.plant.vin import validate_vin
from linespeed.store.plants import plant_timezone, serialized_parts
from linespeed.store.schema import installed_parts, units


@dataclass(frozen=True)
class OtherCar:
    """Another car that held the same serialized piece, and when."""

    vin: str
    installed_at: datetime
    removed_at: datetime | None


@dataclass(frozen=True)
class TracedPart:
    """One piece installed in the car; `removed_at` is set when it was replaced.

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


def vin_trace(engine: Engine, vin: str) -> VinTrace:
    """Every part installed in car `vin`, in installation order, with where serials moved.

    Raises VinError (vin.invalid, vin.check_digit) for a malformed VIN and NotFoundError if
    no car with this VIN was started.
    """
    with engine.connect() as connection:
        car = connection.execute(
            select(
                units.c.vin, units.c.model, units.c.color, units.c.status, units.c.revision
            ).where(units.c.vin == vin)
        ).first()
        if car is None:
            validate_vin(vin)
            raise NotFoundError(f"no car with VIN {vin} was started in this database")
        parts = connection.execute(
            select(installed_parts)
            .where(installed_parts.c.vin == vin)
            .order_by(installed_parts.c.installed_at, installed_parts.c.part)
        ).all()
        serialized = serialized_parts(connection, car.revision)
        serials = sorted({row.serial for row in parts if row.part in serialized and row.serial})
        elsewhere: dict[tuple[str, str], list[OtherCar]] = {}
        if serials:
            for row in connection.execute(
                select(
                    installed_parts.c.part,
                    installed_parts.c.serial,
                    installed_parts.c.vin,
                    installed_parts.c.installed_at,
                    installed_parts.c.removed_at,
                )
                .where(
                    and_(
                        installed_parts.c.serial.in_(serials),
                        installed_parts.c.vin != vin,
                    )
                )
                .order_by(installed_parts.c.installed_at)
            ):
                elsewhere.setdefault((row.part, row.serial), []).append(
                    OtherCar(row.vin, row.installed_at, row.removed_at)
                )
        timezone = plant_timezone(connection, car.revision)
    moved = {key: cars for key, cars in elsewhere.items() if key[0] in serialized}
    return VinTrace(
        vin=car.vin,
        model=car.model,
        color=car.color,
        status=car.status,
        timezone=timezone,
        parts=[
            TracedPart(
                part=row.part,
                serial=row.serial,
                lot=row.lot,
                supplier=row.supplier,
                station=row.station,
                installed_at=row.installed_at,
                removed_at=row.removed_at,
                moved=(row.part, row.serial) in moved,
                other_cars=moved.get((row.part, row.serial), []),
            )
            for row in parts
        ],
    )
