"""A car's full history: stations, parts, inspections, defects, status and sequence numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from linespeed.errors import NotFoundError
from linespeed.plant.vin import validate_vin
from linespeed.store.plants import plant_timezone
from linespeed.store.schema import defects, inspections, installed_parts, station_visits, units


@dataclass(frozen=True)
class StationVisit:
    """A station the car completed."""

    station: str
    started_at: datetime | None
    completed_at: datetime
    result: str


@dataclass(frozen=True)
class InstalledPart:
    """A part that went into the car (removed_at is set if it was replaced)."""

    station: str
    part: str
    serial: str | None
    lot: str | None
    supplier: str | None
    installed_at: datetime
    removed_at: datetime | None


@dataclass(frozen=True)
class Inspection:
    """A check made on the car."""

    station: str
    check: str
    result: str
    value: float | None
    recorded_at: datetime


@dataclass(frozen=True)
class Defect:
    """A defect found on the car, open or closed."""

    defect: str
    station: str
    code: str
    severity: str
    opened_at: datetime
    closed_at: datetime | None
    action: str | None
    closed_station: str | None


@dataclass(frozen=True)
class UnitHistory:
    """Everything recorded about one car; times are UTC, `timezone` is the plant's."""

    vin: str
    model: str
    color: str
    line: str
    status: str
    plant_revision: int
    timezone: str
    start_seq: int
    completion_seq: int | None
    started_at: datetime
    completed_at: datetime | None
    scrapped_at: datetime | None
    shipped_at: datetime | None
    current_station: str | None
    last_station: str | None
    scrap_station: str | None
    scrap_reason: str | None
    destination: str | None
    stations: list[StationVisit]
    parts: list[InstalledPart]
    inspections: list[Inspection]
    defects: list[Defect]


def unit_history(engine: Engine, vin: str) -> UnitHistory:
    """The full history of car `vin`.

    Raises VinError (vin.invalid, vin.check_digit) for a malformed VIN and
    NotFoundError if no car with this VIN was started.
    """
    with engine.connect() as connection:
        row = connection.execute(select(units).where(units.c.vin == vin)).first()
        if row is None:
            validate_vin(vin)
            raise NotFoundError(f"no car with VIN {vin} was started in this database")
        visits = connection.execute(
            select(station_visits)
            .where(station_visits.c.vin == vin)
            .order_by(station_visits.c.completed_at)
        )
        parts = connection.execute(
            select(installed_parts)
            .where(installed_parts.c.vin == vin)
            .order_by(installed_parts.c.installed_at)
        )
        checks = connection.execute(
            select(inspections).where(inspections.c.vin == vin).order_by(inspections.c.recorded_at)
        )
        found = connection.execute(
            select(defects).where(defects.c.vin == vin).order_by(defects.c.opened_at)
        )
        return UnitHistory(
            vin=row.vin,
            model=row.model,
            color=row.color,
            line=row.line,
            status=row.status,
            plant_revision=row.revision,
            timezone=plant_timezone(connection, row.revision),
            start_seq=row.start_seq,
            completion_seq=row.completion_seq,
            started_at=row.started_at,
            completed_at=row.completed_at,
            scrapped_at=row.scrapped_at,
            shipped_at=row.shipped_at,
            current_station=row.current_station,
            last_station=row.last_station,
            scrap_station=row.scrap_station,
            scrap_reason=row.scrap_reason,
            destination=row.destination,
            stations=[
                StationVisit(v.station, v.started_at, v.completed_at, v.result) for v in visits
            ],
            parts=[
                InstalledPart(
                    p.station, p.part, p.serial, p.lot, p.supplier, p.installed_at, p.removed_at
                )
                for p in parts
            ],
            inspections=[
                Inspection(c.station, c.check, c.result, c.value, c.recorded_at) for c in checks
            ],
            defects=[
                Defect(
                    d.defect,
                    d.station,
                    d.code,
                    d.severity,
                    d.opened_at,
                    d.closed_at,
                    d.action,
                    d.closed_station,
                )
                for d in found
            ],
        )
