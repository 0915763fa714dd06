"""`linespeed deadletters` (filtered), `deadletters dismiss`, `deadletters assign` and
`deadletters retry`: refused events, worked through."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from linespeed.cli.common import (
    DbOption,
    JsonOption,
    PlantOption,
    app,
    flag_names,
    out,
    parse_time,
    plant_zone,
    plural,
    print_json,
    store,
    time_text,
)

if TYPE_CHECKING:
    from linespeed.store.deadletters import DeadLetter

deadletters_app = typer.Typer(
    help=(
        "List refused events (filtered), dismiss or assign them, or retry them: "
        "`linespeed deadletters [--reason R] [--vin V] [--json] [--all]`."
    ),
    invoke_without_command=True,
)
app.add_typer(deadletters_app, name="deadletters")

_LIST_FLAGS = {"since": "--since", "until": "--until", "limit": "--limit"}
IdsArgument = Annotated[list[int], typer.Argument(help="Dead letter numbers (`#N`).")]


@deadletters_app.callback()
@flag_names(_LIST_FLAGS)
def deadletters(
    ctx: typer.Context,
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
    show_all: Annotated[
        bool, typer.Option("--all", help="Include resolved and dismissed ones.")
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Only this reason code (`unit.unknown`).")
    ] = None,
    vin: Annotated[str | None, typer.Option("--vin", help="Only payloads of this VIN.")] = None,
    station: Annotated[
        str | None, typer.Option("--station", help="Only payloads of this station.")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option("--source", help="Only sources containing this text (a file, a topic)."),
    ] = None,
    assignee: Annotated[
        str | None, typer.Option("--assignee", help="Only those assigned to this name.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only those received at or after (ISO time with offset)."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="Only those received before (ISO time with offset)."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="At most this many, oldest first.")
    ] = None,
) -> None:
    """List refused events with their reason (open ones unless --all), filtered.

    Example: linespeed deadletters --reason unit.unknown --since 2025-06-30T00:00+08:00 --json
    """
    ctx.obj = {"db": db, "plant": plant, "json": json_output}
    if ctx.invoked_subcommand is not None:
        return
    from linespeed.store.deadletters import list_dead_letters

    with store(db, plant) as engine:
        zone = plant_zone(engine)
        letters = list_dead_letters(
            engine,
            None if show_all else "open",
            reason=reason,
            vin=vin,
            station=station,
            source=source,
            assignee=assignee,
            since=parse_time(since, zone),
            until=parse_time(until, zone),
            limit=limit,
        )
    if json_output:
        print_json(letters)
        return
    if not letters:
        filtered = any(
            value is not None for value in (reason, vin, station, source, assignee, since, until)
        )
        out.print(
            ("no dead letters" if show_all else "no open dead letters")
            + (" match" if filtered else "")
        )
    for letter in letters:
        _print_letter(letter, zone)


def _print_letter(letter: DeadLetter, zone: str | None) -> None:
    out.print(
        f"#{letter.id} {letter.reason} {letter.source} ({letter.status}, "
        f"received {time_text(letter.received_at, zone)}, "
        f"retried {plural(letter.attempts, 'time')})"
    )
    out.print(f"    {letter.detail}")
    handled = f" by {letter.handled_by}, {time_text(letter.handled_at, zone)}"
    if letter.status == "dismissed":
        out.print(f"    dismissed{handled}: {letter.note}")
    elif letter.assignee is not None:
        out.print(f"    assigned to {letter.assignee}{handled}")


@deadletters_app.command("dismiss")
@flag_names({"note": "--note"})
def deadletters_dismiss(
    ctx: typer.Context,
    ids: IdsArgument,
    note: Annotated[str, typer.Option("--note", help="Why they need no retry (audited).")],
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Dismiss open dead letters with a note: they are not retried again. Audited as the
    operating-system user; a letter that does not exist, or is resolved or dismissed
    already, is an error and none is dismissed.

    Example: linespeed deadletters dismiss 3 4 --note "test events from the gateway's bench"
    """
    from linespeed.ingest.corrections import os_user
    from linespeed.store.deadletters import dismiss

    with store(db or ctx.obj["db"], plant or ctx.obj["plant"]) as engine:
        letters = dismiss(engine, ids, note, os_user())
    _done(letters, "dismissed", json_output or ctx.obj["json"])


@deadletters_app.command("assign")
@flag_names({"assignee": "--to"})
def deadletters_assign(
    ctx: typer.Context,
    ids: IdsArgument,
    to: Annotated[str, typer.Option("--to", help="Who is to look at them (audited).")],
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Assign open dead letters to someone (again, to another). Audited as the
    operating-system user; a letter that does not exist, or is resolved or dismissed, is an
    error and none is assigned.

    Example: linespeed deadletters assign 1 2 --to "Li Wei"
    """
    from linespeed.ingest.corrections import os_user
    from linespeed.store.deadletters import assign

    with store(db or ctx.obj["db"], plant or ctx.obj["plant"]) as engine:
        letters = assign(engine, ids, to, os_user())
    _done(letters, f"assigned to {to.strip()}", json_output or ctx.obj["json"])


def _done(letters: Sequence[DeadLetter], what: str, json_output: bool) -> None:
    if json_output:
        print_json(letters)
        return
    for letter in letters:
        out.print(f"#{letter.id} {letter.reason} {letter.source}: {what}")


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
        print_json(report.as_dict())
    else:
        skipped = report.skipped_text()
        out.print(
            f"retried {report.retried}: accepted {report.accepted}, "
            f"duplicates {report.duplicates}, still refused {report.rejected}"
            + (f"; skipped {skipped}" if skipped else "")
        )
