"""Master data in the store: numbered plant revisions."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import msgspec
from sqlalchemy import Connection, Engine, func, select

from linespeed.errors import StoreError
from linespeed.store.schema import plant_revisions

if TYPE_CHECKING:
    from linespeed.plant.model import Plant


def save_plant(engine: Engine, plant: Plant, source: str) -> tuple[int, bool]:
    """Store `plant` as a new revision unless it equals the newest one.

    Returns (revision, created). Raises StoreError if the store holds another plant.
    """
    document = plant.model_dump_json()
    digest = hashlib.sha256(document.encode()).hexdigest()
    with engine.begin() as connection:
        newest = connection.execute(
            select(plant_revisions.c.revision, plant_revisions.c.plant_id, plant_revisions.c.sha256)
            .order_by(plant_revisions.c.revision.desc())
            .limit(1)
        ).first()
        if newest is not None:
            if newest.plant_id != plant.plant:
                raise StoreError(
                    f"this database holds plant {newest.plant_id!r}; "
                    f"it cannot load plant {plant.plant!r} (use another database)"
                )
            if newest.sha256 == digest:
                return int(newest.revision), False
        revision = 1 if newest is None else int(newest.revision) + 1
        connection.execute(
            plant_revisions.insert().values(
                revision=revision,
                plant_id=plant.plant,
                source=source,
                sha256=digest,
                loaded_at=datetime.now(UTC),
                document=document,
            )
        )
    return revision, True


def load_plants(connection: Connection) -> dict[int, Plant]:
    """Every plant revision in the store, by revision number.

    Raises StoreError if the store holds no plant yet.
    """
    from linespeed.plant.model import Plant

    rows = connection.execute(
        select(plant_revisions.c.revision, plant_revisions.c.document).order_by(
            plant_revisions.c.revision
        )
    ).all()
    if not rows:
        raise StoreError("the database holds no plant: run `linespeed init [--plant FILE]`")
    return {int(row.revision): Plant.model_validate_json(row.document) for row in rows}


def current_plant(connection: Connection) -> Plant:
    """The plant of the newest revision in the store: the one new cars start under.

    Raises StoreError if the store holds no plant yet.
    """
    from linespeed.plant.model import Plant

    document = connection.execute(
        select(plant_revisions.c.document).order_by(plant_revisions.c.revision.desc()).limit(1)
    ).scalar()
    if document is None:
        raise StoreError("the database holds no plant: run `linespeed init [--plant FILE]`")
    return Plant.model_validate_json(document)


def current_plant_id(connection: Connection) -> str | None:
    """The id of the plant the store holds (its newest revision's), or None when none is."""
    return connection.execute(
        select(plant_revisions.c.plant_id).order_by(plant_revisions.c.revision.desc()).limit(1)
    ).scalar()


def current_revision(connection: Connection) -> int | None:
    """The newest plant revision number, or None when no plant is loaded."""
    value = connection.execute(select(func.max(plant_revisions.c.revision))).scalar()
    return None if value is None else int(value)


class _BomLine(msgspec.Struct):
    part: str
    serialized: bool = False


class _Model(msgspec.Struct):
    parts: list[_BomLine] = []


class _Summary(msgspec.Struct):
    timezone: str
    models: list[_Model]


class PlantSummary(msgspec.Struct, frozen=True):
    """What queries need of a plant revision, read without validating the whole plant."""

    timezone: str
    """The plant's IANA time zone."""
    serialized_parts: frozenset[str]
    """The part numbers that the BOM tracks by serial."""


_summaries: dict[str, PlantSummary] = {}
"""Summaries by document digest: a revision's document never changes once stored."""


def plant_summary(connection: Connection, revision: int, sha256: str | None = None) -> PlantSummary:
    """The time zone and serialized parts of plant `revision` (whose digest is `sha256`).

    Given the digest, a summary read before is reused without reading the document.
    """
    if sha256 is not None and sha256 in _summaries:
        return _summaries[sha256]
    digest, document = connection.execute(
        select(plant_revisions.c.sha256, plant_revisions.c.document).where(
            plant_revisions.c.revision == revision
        )
    ).one()
    summary = msgspec.json.decode(document, type=_Summary)
    serialized = (line.part for model in summary.models for line in model.parts if line.serialized)
    _summaries[digest] = PlantSummary(summary.timezone, frozenset(serialized))
    return _summaries[digest]


def plant_timezone(connection: Connection, revision: int) -> str:
    """The IANA time zone of the plant in `revision`."""
    return plant_summary(connection, revision).timezone
