"""`linespeed backup` and `linespeed restore`: a SQLite store copied while it runs, and back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from linespeed.cli.common import DbOption, JsonOption, app, out, print_json

if TYPE_CHECKING:
    from linespeed.store.backup import BackedUpPlant


@app.command()
def backup(
    file: Annotated[Path, typer.Argument(help="The backup file to write (it must not exist).")],
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Copy the SQLite store, every plant of it, to FILE while ingest goes on (one snapshot
    of each plant, its write-ahead log included: unlike `cp`).

    A PostgreSQL store is backed up with pg_dump (docs/operations.md).
    Example: linespeed backup /var/backups/linespeed/yz1-2026-12-06.db
    """
    from linespeed.store.backup import backup_store

    _print(backup_store(db, file), "backed up", json_output=json_output)


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="The backup file (`linespeed backup FILE`).")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite the store if its file exists.")
    ] = False,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Copy the backup FILE (and its plants' files beside it) into the SQLite store of --db,
    then migrate it to this linespeed. Stop the store's other processes first.

    Example: linespeed restore /var/backups/linespeed/yz1-2026-12-06.db --db sqlite:///yz1.db
    """
    from linespeed.store.backup import restore_store

    _print(restore_store(file, db, replace=replace), "restored", json_output=json_output)


def _print(plants: list[BackedUpPlant], done: str, *, json_output: bool) -> None:
    if json_output:
        print_json(plants)
        return
    for plant in plants:
        out.print(f"plant {plant.plant}: {plant.events:,} events {done} in {plant.file}")
