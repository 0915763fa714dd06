"""Several plants in one store: each plant's tables in a schema or file of their own.

A store's first plant lives in the database the URL names (PostgreSQL: the first schema on
its search path; SQLite: the file). Each further plant gets a store of its own beside it (a
schema `<home schema>__<plant>` in the same PostgreSQL database, or a file
`<home stem>.<plant>.db` in the same folder), listed in the first one's `plant_stores`.

So the store is partitioned by plant: writers of different plants never wait for each other
(each store has its own write lock), event, start and completion numbers are gapless per
plant (the live feed's `Last-Event-ID` and the Nth car are per plant), and every index and
question of a plant reads that plant's rows alone. Questions across plants (`trace part`,
ramps side by side, `linespeed plants`) ask each plant's store and merge the answers.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

import msgspec
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError

from linespeed.errors import StoreError
from linespeed.store.engine import connect, is_current, migrate, open_store, read_connection
from linespeed.store.plants import current_plant_id
from linespeed.store.schema import events, plant_stores, units

if TYPE_CHECKING:
    from linespeed.plant.model import Plant

_PG_IDENTIFIER_MAX: Final = 63
_SEARCH_PATH: Final = re.compile(r"-c\s*search_path=\S*")


class UnknownPlantError(StoreError):
    """The store holds no plant of that id."""

    code = "plant.unknown"


def home_plant_id(home: Engine) -> str | None:
    """The id of the plant in the database the URL names (the store's first); None if none."""
    with home.connect() as connection:
        return current_plant_id(connection)


def plant_locations(home: Engine) -> dict[str, str | None]:
    """Every plant of the store, the first one first, with where its tables are.

    The first plant's location is None (it lives in `home` itself); the others' are schema
    names (PostgreSQL) or plant ids naming their files beside the home file (`plant_file`).
    """
    first = home_plant_id(home)
    located: dict[str, str | None] = {} if first is None else {first: None}
    with home.connect() as connection:
        rows = connection.execute(
            select(plant_stores.c.plant_id, plant_stores.c.location).order_by(
                plant_stores.c.added_at, plant_stores.c.plant_id
            )
        ).all()
    for plant_id, location in rows:
        located.setdefault(plant_id, location)
    return located


def plant_ids(url: str | None) -> list[str]:
    """The ids of the plants of the store at `url`, the first one first.

    Raises StoreError if the store cannot be opened.
    """
    home = open_store(url)
    try:
        return list(plant_locations(home))
    finally:
        home.dispose()


def plant_engine(home: Engine, plant_id: str) -> Engine:
    """An engine on the store of plant `plant_id` (`home` itself for the first plant).

    The caller disposes the engine it gets unless it is `home`. Raises UnknownPlantError if
    the store holds no such plant, StoreError if its tables are not up to date.
    """
    located = plant_locations(home)
    if plant_id not in located:
        held = ", ".join(located) or "none"
        raise UnknownPlantError(
            f"this store holds no plant {plant_id!r} (it holds: {held}); "
            "add one with `linespeed init --plant FILE`"
        )
    location = located[plant_id]
    if location is None:
        return home
    engine = connect(_location_url(home, location))
    if not is_current(engine):
        engine.dispose()
        raise StoreError(f"the store of plant {plant_id!r} is not up to date: run `linespeed init`")
    return engine


def open_plant_store(url: str | None, plant_id: str | None) -> Engine:
    """An engine on the store of plant `plant_id` in the store at `url`; the caller disposes it.

    Without `plant_id` it is the store's only plant. Raises StoreError if the store cannot
    be opened, holds several plants and none is named, or holds no plant `plant_id`.
    """
    home = open_store(url)
    try:
        if plant_id is None:
            located = plant_locations(home)
            if len(located) > 1:
                raise StoreError(
                    f"this store holds plants {', '.join(located)}: name one with --plant"
                )
            return home
        engine = plant_engine(home, plant_id)
    except BaseException:
        home.dispose()
        raise
    if engine is not home:
        home.dispose()
    return engine


@contextmanager
def plant_store(url: str | None, plant_id: str | None) -> Iterator[Engine]:
    """`open_plant_store`, disposed afterwards."""
    engine = open_plant_store(url, plant_id)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def every_plant_store(
    url: str | None, plant_ids: tuple[str, ...] = ()
) -> Iterator[list[tuple[str, Engine]]]:
    """(plant id, engine) for `plant_ids` (every plant of the store if empty), closed after.

    Raises StoreError if the store cannot be opened, holds no plant, or holds no plant of an
    id given.
    """
    home = open_store(url)
    with ExitStack() as closing:
        closing.callback(home.dispose)
        wanted = plant_ids or tuple(plant_locations(home))
        if not wanted:
            raise StoreError("the database holds no plant: run `linespeed init [--plant FILE]`")
        engines: list[tuple[str, Engine]] = []
        for plant_id in dict.fromkeys(wanted):
            engine = plant_engine(home, plant_id)
            if engine is not home:
                closing.callback(engine.dispose)
            engines.append((plant_id, engine))
        yield engines


def plant_store_for(home: Engine, plant: Plant, *, simulation: bool) -> Engine:
    """The store that keeps `plant`'s revisions: the home one, or the plant's own (made now).

    A plant new to a store that already holds another gets a store of its own, migrated,
    made a simulation store if `simulation` or if `home` is one, and listed. The caller
    disposes the engine it gets unless it is `home`. Raises StoreError if `home` is an
    in-memory SQLite database.
    """
    from linespeed.store.settings import init_simulation, is_simulation

    located = plant_locations(home)
    if not located or (plant.plant in located and located[plant.plant] is None):
        return home
    location = located.get(plant.plant) or _new_location(home, plant.plant)
    if home.dialect.name == "postgresql":
        with home.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{location}"')
    engine = connect(_location_url(home, location))
    try:
        migrate(engine)
        with home.connect() as connection:
            simulation = simulation or is_simulation(connection)
        init_simulation(engine, simulation=simulation)
        if plant.plant not in located:
            _register(home, plant.plant, location)
    except BaseException:
        engine.dispose()
        raise
    return engine


def migrate_plant_stores(home: Engine) -> None:
    """Migrate every other plant's store of `home` to the newest schema.

    Raises StoreError if one cannot be reached or migrated.
    """
    for location in plant_locations(home).values():
        if location is None:
            continue
        engine = connect(_location_url(home, location))
        try:
            migrate(engine)
        finally:
            engine.dispose()


def _register(home: Engine, plant_id: str, location: str) -> None:
    try:
        with home.begin() as connection:
            connection.execute(
                plant_stores.insert().values(
                    plant_id=plant_id, location=location, added_at=datetime.now(UTC)
                )
            )
    except IntegrityError:  # another `init` listed it first, at the same location
        pass


def _new_location(home: Engine, plant_id: str) -> str:
    """A schema name (PostgreSQL) for the new plant's store, or (SQLite) the plant id, which
    names its file beside the home file wherever that is (`plant_file`)."""
    slug = plant_id.replace("-", "_")
    if home.dialect.name == "postgresql":
        with home.connect() as connection:
            schema = str(connection.exec_driver_sql("SELECT current_schema()").scalar())
        name = f"{schema}__{slug}"
        if len(name) > _PG_IDENTIFIER_MAX:
            digest = hashlib.sha256(name.encode()).hexdigest()[:10]
            name = f"{name[: _PG_IDENTIFIER_MAX - 11]}_{digest}"
        return name
    database_file(home)  # an in-memory store has nowhere to put another plant
    return plant_id


def database_file(engine: Engine, needed_for: str = "hold another plant") -> Path:
    """The file of the SQLite store `engine`.

    Raises StoreError, saying it cannot `needed_for`, if the store is in memory.
    """
    database = engine.url.database
    if not database or database == ":memory:":
        raise StoreError(f"an in-memory store cannot {needed_for}: give a database file with --db")
    return Path(database)


def plant_file(home_file: Path, plant_id: str) -> Path:
    """The SQLite file of plant `plant_id` of the store whose first plant is `home_file`:
    `<stem>.<plant>.db` beside it, so the files keep together when copied or renamed."""
    return home_file.with_name(f"{home_file.stem}.{plant_id}{home_file.suffix or '.db'}")


def _location_url(home: Engine, location: str) -> str:
    """The URL of the plant store at `location` beside `home`."""
    url: URL = home.url
    if home.dialect.name == "postgresql":
        given = url.query.get("options", "")
        options = _SEARCH_PATH.sub("", given if isinstance(given, str) else " ".join(given))
        options = f"{options.strip()} -csearch_path={location}".strip()
        url = url.update_query_dict({"options": options})
    else:
        url = url.set(database=str(plant_file(database_file(home), location)))
    return url.render_as_string(hide_password=False)


class PlantEntry(msgspec.Struct, frozen=True):
    """One plant of a store: where its tables are and how far it has come."""

    plant: str
    name: str
    timezone: str
    location: str
    """"home" for the store's first plant; else its schema (PostgreSQL) or file (SQLite)."""
    revision: int
    """The plant's newest revision number."""
    events: int
    """Events stored (the plant's event numbers run 1 to this, without gaps)."""
    cars_started: int
    cars_completed: int
    last_event_at: datetime | None


def list_plants(url: str | None) -> list[PlantEntry]:
    """Every plant of the store at `url`, the first one first, with its counts.

    Raises StoreError if the store cannot be opened or a plant's store is not up to date.
    """
    from linespeed.store.plants import current_plant, current_revision

    entries: list[PlantEntry] = []
    with every_plant_store(url) as plants:
        home = plants[0][1]
        located = plant_locations(home)
        for plant_id, engine in plants:
            with read_connection(engine) as connection:
                plant = current_plant(connection)
                events_seq = connection.execute(select(func.max(events.c.seq))).scalar()
                last_at = connection.execute(
                    select(events.c.ts).where(events.c.seq == events_seq)
                ).scalar()
                started, completed = connection.execute(
                    select(func.count(), func.count(units.c.completed_at))
                ).one()
                entries.append(
                    PlantEntry(
                        plant_id,
                        plant.name,
                        plant.timezone,
                        _shown_location(home, located[plant_id]),
                        current_revision(connection) or 0,
                        int(events_seq or 0),
                        int(started),
                        int(completed),
                        last_at,
                    )
                )
    return entries


def _shown_location(home: Engine, location: str | None) -> str:
    if location is None:
        return "home"
    if home.dialect.name == "postgresql":
        return location
    return plant_file(database_file(home), location).name
