"""Backups of a SQLite store while it runs, and restoring them (SQLite's online backup API).

A copy of the database file alone (`cp`) misses what sits in the write-ahead log; the backup
API copies the database as one consistent snapshot, the log included, while ingest goes on.
A store of several plants is backed up file by file, each plant's beside the first's under
the same name (`plant_file`). PostgreSQL stores are backed up with `pg_dump`
(docs/operations.md), which `backup_store` names in its refusal.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

import msgspec
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DBAPIError

from linespeed.errors import StoreError
from linespeed.store.engine import connect, is_current, migrate
from linespeed.store.plant_stores import (
    database_file,
    every_plant_store,
    migrate_plant_stores,
    plant_file,
)
from linespeed.store.schema import events

PAGES_PER_STEP: Final = 4096
"""Pages copied per step (16 MiB at 4 KiB pages): writers wait at most one step's copy."""
PG_DUMP_RECIPE: Final = (
    "pg_dump --format=custom --file=FILE 'DATABASE' --schema=SCHEMA --schema='SCHEMA__*'"
)


class BackedUpPlant(msgspec.Struct, frozen=True):
    """One plant's file in a backup (or a restore), and the events it holds."""

    plant: str
    file: str
    events: int


def backup_store(url: str | None, target: Path) -> list[BackedUpPlant]:
    """Copy the SQLite store at `url` (every plant of it) to `target`, consistently, while it
    is in use; returns what each plant's file holds.

    Raises StoreError if the store is on PostgreSQL (use pg_dump), if `target` or a plant's
    file beside it exists already, its folder does not, or the copy fails its integrity check.
    """
    with every_plant_store(url) as plants:
        home = plants[0][1]
        if home.dialect.name != "sqlite":
            raise StoreError(
                "a PostgreSQL store is backed up with pg_dump, not `linespeed backup`: "
                f"{PG_DUMP_RECIPE} (docs/operations.md)"
            )
        files = _files(plants, target)
        for file in files.values():
            if file.exists():
                raise StoreError(f"{file} exists: back up to a new file")
            if not file.parent.is_dir():
                raise StoreError(f"folder {file.parent} does not exist")
        copied = []
        for plant_id, engine in plants:
            _copy(database_file(engine), files[plant_id])
            copied.append(
                BackedUpPlant(plant_id, str(files[plant_id]), _events_in(files[plant_id]))
            )
    return copied


def restore_store(source: Path, url: str | None, *, replace: bool = False) -> list[BackedUpPlant]:
    """Copy the backup `source` (and its plants' files beside it) into the SQLite store at
    `url`, then migrate it to this linespeed's schema; returns what each plant's file holds.

    The store's other processes should be stopped: they would go on from what they read
    before. Raises StoreError if `url` is not a SQLite file, `source` is not a linespeed
    store, a plant's file of the backup is missing, or the store's file exists while
    `replace` is not set.
    """
    target_engine = connect(_sqlite_url(url))
    try:
        target = Path(target_engine.url.database or "")
        if not target.name or target.name == ":memory:" or target_engine.dialect.name != "sqlite":
            raise StoreError("restore needs a SQLite database file: give one with --db")
        if target.resolve() == source.resolve():
            raise StoreError(f"{source} is the store itself")
        located = _backup_plants(source)
        if not replace and target.exists() and target.stat().st_size > 0:
            raise StoreError(f"{target} exists: give --replace to overwrite it")
        for plant_id, location in located.items():
            from_file = source if location is None else plant_file(source, location)
            if not from_file.is_file():
                raise StoreError(f"{from_file}, plant {plant_id}'s file of the backup, is missing")
        for location in located.values():
            if location is None:
                _copy(source, target)
            else:
                _copy(plant_file(source, location), plant_file(target, location))
    finally:
        target_engine.dispose()
    home = connect(_sqlite_url(url))
    try:
        if not is_current(home):
            migrate(home)
        migrate_plant_stores(home)
    finally:
        home.dispose()
    with every_plant_store(url) as plants:
        return [_described(plant_id, database_file(engine)) for plant_id, engine in plants]


def _sqlite_url(url: str | None) -> str:
    from linespeed.store.engine import db_url_from_env

    return db_url_from_env(url)


def _files(plants: list[tuple[str, Engine]], target: Path) -> dict[str, Path]:
    home_file = database_file(plants[0][1], "be backed up")
    files = {}
    for plant_id, engine in plants:
        own = database_file(engine)
        files[plant_id] = target if own == home_file else plant_file(target, plant_id)
    return files


def _copy(source: Path, target: Path) -> None:
    """Copy the SQLite database `source` into `target` with the online backup API; check it.

    Raises StoreError if either cannot be opened or the copy fails its integrity check.
    """
    try:
        reading = sqlite3.connect(source, timeout=60)
        try:
            writing = sqlite3.connect(target, timeout=60)
            try:
                reading.backup(writing, pages=PAGES_PER_STEP)
                (verdict,) = writing.execute("PRAGMA integrity_check").fetchone()
            finally:
                writing.close()
        finally:
            reading.close()
    except sqlite3.Error as error:
        raise StoreError(f"cannot copy {source} to {target}: {error}") from None
    if verdict != "ok":
        raise StoreError(f"the copy {target} fails SQLite's integrity check: {verdict}")


def _described(plant_id: str, file: Path) -> BackedUpPlant:
    return BackedUpPlant(plant_id, str(file), _events_in(file))


def _events_in(file: Path) -> int:
    """How many events the SQLite store `file` holds. Raises StoreError if it is none."""
    engine = connect(f"sqlite:///{file}")
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(events)).scalar_one())
    except DBAPIError:
        raise StoreError(f"{file} is not a linespeed store") from None
    finally:
        engine.dispose()


def _backup_plants(source: Path) -> dict[str, str | None]:
    """The plants of the backup `source` and their locations (None: the file itself)."""
    if not source.is_file():
        raise StoreError(f"no backup at {source}")
    engine = connect(f"sqlite:///{source}")
    try:
        from linespeed.store.plant_stores import plant_locations

        try:
            located = plant_locations(engine)
        except DBAPIError:
            raise StoreError(f"{source} is not a linespeed store") from None
    finally:
        engine.dispose()
    if not located:
        raise StoreError(f"{source} holds no plant: it is not a linespeed store's backup")
    return located
