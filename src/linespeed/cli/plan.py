"""`linespeed plan import | show | list`: the production plan and its revisions."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from linespeed.cli.common import (
    DbOption,
    JsonOption,
    PlantOption,
    app,
    err,
    flag_names,
    out,
    plural,
    print_json,
    store,
    time_text,
)
from linespeed.cli.errors import CliUsageError
from linespeed.errors import InputFileError

plan_app = typer.Typer(
    help="The production plan: import a plan file, show the plan in force, list revisions.",
    no_args_is_help=True,
)
app.add_typer(plan_app, name="plan")


@plan_app.command("import")
def plan_import(
    file: Annotated[Path, typer.Argument(help="Plan CSV file: date,line,shift,model,quantity.")],
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Store a plan file as a new plan revision; every problem names its file, line and field.

    The newest revision that covers a day is the plan for that day.

    Example: linespeed plan import plan-2025-07.csv
    """
    from linespeed.supply.plan import import_plan
    from linespeed.supply.plan_file import PlanFileError

    data = _read(file)
    with store(db, plant) as engine:
        try:
            revision = import_plan(engine, data, str(file))
        except PlanFileError as error:
            if json_output:
                print_json({"imported": False, "problems": error.problems})
            else:
                for problem in error.problems:
                    err.print(str(problem))
            raise typer.Exit(1) from None
    if json_output:
        print_json({"imported": True, **vars(revision)})
        return
    out.print(
        f"{file}: plan revision {revision.revision}, {revision.first_day} to "
        f"{revision.last_day}: {plural(revision.rows, 'row')}, "
        f"{plural(revision.quantity, 'car')} planned"
    )


def _read(file: Path) -> bytes:
    """The bytes of a plan file. Raises InputFileError if it cannot be read or is too large."""
    from linespeed.supply.plan_file import MAX_PLAN_BYTES

    try:
        size = file.stat().st_size
        if size > MAX_PLAN_BYTES:
            raise InputFileError(
                str(file),
                f"the file has {size:,} bytes; a plan file has at most {MAX_PLAN_BYTES:,}",
            )
        return file.read_bytes()
    except OSError as error:
        raise InputFileError(str(file), error.strerror or str(error)) from None


def _day(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CliUsageError(
            f"{flag} {value!r} is not a date YYYY-MM-DD", parameter=flag, value=value
        ) from None


@plan_app.command("show")
@flag_names({"from": "--from", "to": "--to"})
def plan_show(
    first: Annotated[
        str | None, typer.Option("--from", help="First day (YYYY-MM-DD, plant time).")
    ] = None,
    last: Annotated[
        str | None, typer.Option("--to", help="Last day, included (YYYY-MM-DD).")
    ] = None,
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """The plan in force for each day: the newest revision covering the day, its rows.

    Example: linespeed plan show --from 2025-07-01 --to 2025-07-07
    """
    from rich.table import Table

    from linespeed.supply.plan import plan_in_force

    with store(db, plant) as engine:
        view = plan_in_force(engine, first_day=_day(first, "--from"), last_day=_day(last, "--to"))
    if json_output:
        print_json(view)
        return
    if view.first_day is None:
        out.print("no plan is stored: run `linespeed plan import FILE.csv`")
        return
    table = Table("date", "line", "shift", "model", "quantity", "revision")
    for row in view.rows:
        table.add_row(
            row.day.isoformat(),
            row.line,
            row.shift or "(all)",
            row.model or "(all)",
            f"{row.quantity:,}",
            str(row.revision),
        )
    out.print(table)
    out.print(
        f"{view.first_day} to {view.last_day}: {plural(view.quantity, 'car')} planned; "
        f"{plural(view.days_planned, 'day')} planned, {view.days_without_plan} without a plan"
    )


@plan_app.command("list")
def plan_list(
    plant: PlantOption = None, db: DbOption = None, json_output: JsonOption = False
) -> None:
    """Every plan revision, newest first: where it came from and the days it covers.

    Example: linespeed plan list --json
    """
    from rich.table import Table

    from linespeed.supply.plan import list_revisions

    with store(db, plant) as engine:
        found = list_revisions(engine)
    if json_output:
        print_json({"revisions": found})
        return
    if not found:
        out.print("no plan is stored: run `linespeed plan import FILE.csv`")
        return
    table = Table("revision", "imported", "source", "from", "to", "rows", "cars")
    for revision in found:
        table.add_row(
            str(revision.revision),
            time_text(revision.imported_at),
            revision.source,
            revision.first_day.isoformat(),
            revision.last_day.isoformat(),
            f"{revision.rows:,}",
            f"{revision.quantity:,}",
        )
    out.print(table)
