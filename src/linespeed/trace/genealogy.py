"""Backward trace: every part in a car, and where each serialized piece has been."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Engine

from linespeed.errors import NotFoundError
from linespeed.plant.vin import validate_vin
from linespeed.store.bulk import select_rows, stamp_reader_for
from linespeed.store.plants import plant_summary


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
        read = stamp_reader_for(connection.dialect)
        found = select_rows(
            connection, "SELECT model, color, status, revision FROM units WHERE vin = {}", vin
        )
        if not found:
            validate_vin(vin)
            raise NotFoundError(f"no car with VIN {vin} was started in this database")
        ((model, color, status, revision),) = found
        parts = select_rows(
            connection,
            "SELECT part, serial, lot, supplier, station, installed_at, removed_at"
            " FROM installed_parts WHERE vin = {} ORDER BY installed_at, part",
            vin,
        )
        plant = plant_summary(connection, revision)
        serials = sorted({row[1] for row in parts if row[0] in plant.serialized_parts and row[1]})
        elsewhere: dict[tuple[str, str], list[OtherCar]] = {}
        if serials:
            markers = ", ".join(["{}"] * len(serials))
            for part, serial, other_vin, installed_at, removed_at in select_rows(
                connection,
                "SELECT part, serial, vin, installed_at, removed_at FROM installed_parts"
                f" WHERE serial IN ({markers}) AND vin <> {{}} ORDER BY installed_at",
                *serials,
                vin,
            ):
                if part in plant.serialized_parts:
                    elsewhere.setdefault((part, serial), []).append(
                        OtherCar(other_vin, cast(datetime, read(installed_at)), read(removed_at))
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
                moved=(part, serial) in elsewhere,
                other_cars=elsewhere.get((part, serial), []),
            )
            for part, serial, lot, supplier, station, installed_at, removed_at in parts
        ],
    )
