"""`linespeed deadletters` and `deadletters retry`: refused events."""

from __future__ import annotations

from typing import Annotated

import typer

from linespeed.cli.common import (
    DbOption,
    JsonOption,
    PlantOption,
    app,
    out,
    plant_zone,
    plural,
    print_json,
    store,
    time_text,
)

deadletters_app = typer.Typer(
    help="List refused events, or retry them: `linespeed deadletters [--json] [--all]`.",
    invoke_without_command=True,
)
app.add_typer(deadletters_app, name="deadletters")


@deadletters_app.callback()
def deadletters(
    ctx: typer.Context,
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
    show_all: Annotated[bool, typer.Option("--all", help="Include resolved ones.")] = False,
) -> None:
    """List refused events with their reason (open ones unless --all).

    Example: linespeed deadletters --json
    """
    ctx.obj = {"db": db, "plant": plant, "json": json_output}
    if ctx.invoked_subcommand is not None:
        return
    from linespeed.store.deadletters import list_dead_letters

    with store(db, plant) as engine:
        letters = list_dead_letters(engine, None if show_all else "open")
        zone = plant_zone(engine)
    if json_output:
        print_json(letters)
        return
    if not letters:
        out.print("no dead letters" if show_all else "no open dead letters")
    for letter in letters:
        out.print(
            f"#{letter.id} {letter.reason} {letter.source} ({letter.status}, "
            f"received {time_text(letter.received_at, zone)}, "
            f"retried {plural(letter.attempts, 'time')})"
        )
        out.print(f"    {letter.detail}")


@deadletters_app.command("retry")
def deadletters_retry(
    ctx: typer.Context,
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Run open dead letters through ingest again; those now accepted are resolved, the
    others keep the reason they were first refused with. Corrections among them are
    audited as the operating-system user.

    Example: linespeed deadletters retry --json
    """
    from linespeed.ingest.core import Ingestor
    from linespeed.ingest.corrections import os_user
    from linespeed.ingest.retry import retry_dead_letters

    with store(db or ctx.obj["db"], plant or ctx.obj["plant"]) as engine:
        report = retry_dead_letters(Ingestor(engine, corrector=os_user()))
    if json_output or ctx.obj["json"]:
        print_json({"retried": report.retried, "skipped": report.skipped, **report.as_dict()})
    else:
        out.print(
            f"retried {report.retried}: accepted {report.accepted}, "
            f"duplicates {report.duplicates}, still refused {report.rejected}"
            + (
                f"; skipped {plural(report.skipped, 'CSV row')} (fix the file, ingest it again)"
                if report.skipped
                else ""
            )
        )
