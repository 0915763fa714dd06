"""Cars built without a serialized part their BOM requires: completed or shipped, and not
holding a piece of it (never installed, or removed and not put back).

A car is held to the serialized BOM lines of its model at the stations of its line, in
the plant revision it started under; lines with `tracking: units` report no installs and
are exempt. Under `supply: {strict: true}` such a car cannot complete (`unit.missing_part`),
so the list holds only cars from before the plant was strict, or whose piece was removed
after completion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from sqlalchemy import Engine, and_, exists, select

from linespeed.events.rules import rules_by_revision
from linespeed.store.engine import read_connection
from linespeed.store.plants import load_plants
from linespeed.store.schema import installed_parts, units

BUILT_STATUSES: Final = ("completed", "shipped")
"""The statuses of a car that is built: only those are held to their BOM."""


@dataclass(frozen=True)
class MissingPart:
    """A serialized BOM line a car does not hold: the part, its station and supplier."""

    part: str
    station: str
    supplier: str | None


@dataclass
class MissingCar:
    """A built car and the serialized parts it lacks, in BOM order; times are UTC."""

    vin: str
    model: str
    line: str
    status: str
    completion_seq: int | None
    completed_at: datetime | None
    shipped_at: datetime | None
    missing: list[MissingPart] = field(default_factory=list)


@dataclass(frozen=True)
class MissingParts:
    """Every built car lacking a serialized part, in completion order, and how many."""

    cars: list[MissingCar]
    count: int


def missing_parts(engine: Engine) -> MissingParts:
    """Completed and shipped cars that do not hold every serialized part their BOM requires
    (on lines with `tracking: stations`), in completion order. An empty store, or one
    whose cars are all whole, gives no cars."""
    found: dict[str, MissingCar] = {}
    with read_connection(engine) as connection:
        plants = load_plants(connection)
        if not plants:
            return MissingParts([], 0)
        for revision, rules in rules_by_revision(plants).items():
            for (model, line), required in rules.required_serials.items():
                for bom_part in required:
                    held = exists().where(
                        and_(
                            installed_parts.c.vin == units.c.vin,
                            installed_parts.c.part == bom_part.part,
                            installed_parts.c.removed_at.is_(None),
                        )
                    )
                    query = select(
                        units.c.vin,
                        units.c.status,
                        units.c.completion_seq,
                        units.c.completed_at,
                        units.c.shipped_at,
                    ).where(
                        units.c.revision == revision,
                        units.c.model == model,
                        units.c.line == line,
                        units.c.status.in_(BUILT_STATUSES),
                        ~held,
                    )
                    for row in connection.execute(query):
                        car = found.get(row.vin)
                        if car is None:
                            car = found[row.vin] = MissingCar(
                                row.vin,
                                model,
                                line,
                                row.status,
                                row.completion_seq,
                                row.completed_at,
                                row.shipped_at,
                            )
                        car.missing.append(
                            MissingPart(bom_part.part, bom_part.station, bom_part.supplier)
                        )
    cars = sorted(found.values(), key=_completion_order)
    return MissingParts(cars, len(cars))


def _completion_order(car: MissingCar) -> tuple[int, str]:
    return (car.completion_seq or 0, car.vin)
