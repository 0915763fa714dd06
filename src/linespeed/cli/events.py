"""Commands on the event store: `ingest`, `unit`, `deadletters`, `rebuild`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TimeRemainingColumn,
)
from rich.table import Table

from linespeed.cli.common import (
    DbOption,
    JsonOption,
    app,
    deadletters_app,
    err,
    out,
    plant_zone,
    plural,
    print_json,
    time_text,
)
from linespeed.ingest.core import DEFAULT_BATCH_SIZE, Ingestor
from linespeed.ingest.files import ingest_files
from linespeed.ingest.retry import retry_dead_letters
from linespeed.store.deadletters import list_dead_letters
from linespeed.store.engine import open_store
from linespeed.store.rebuild import rebuild as rebuild_projections
from linespeed.trace.history import unit_history


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="JSONL or CSV event files.")],
    db: DbOption = None,
    json_output: JsonOption = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Events per transaction.")
    ] = DEFAULT_BATCH_SIZE,
) -> None:
    """Ingest event files (JSONL, or CSV with a header of field names); idempotent by event id.

    Example: linespeed ingest line-2025-06-30.jsonl --json
    """
    engine = open_store(db)
    total = sum(path.stat().st_size for path in files if path.is_file())
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task("ingest", total=total)
        report = ingest_files(
            Ingestor(engine),
            files,
            batch_size=batch_size,
            progress=lambda done: progress.advance(task, done),
        )
    if json_output:
        print_json(report.as_dict())
        return
    out.print(
        f"accepted {report.accepted}, duplicates {report.duplicates}, rejected {report.rejected}"
    )
    for reason, count in sorted(report.reasons.items()):
        out.print(f"  {reason}: {count}")


@app.command()
def unit(
    vin: Annotated[str, typer.Argument(help="The car's VIN.")],
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show a car's full history: stations, parts, inspections, defects, status.

    Example: linespeed unit LSPA1S7E8SB000001
    """
    history = unit_history(open_store(db), vin)
    if json_output:
        print_json(history)
        return
    out.print(
        f"{history.vin} {history.model} {history.color} on {history.line}: "
        f"{history.status.replace('_', ' ')}; start #{history.start_seq}"
        + (f", completion #{history.completion_seq}" if history.completion_seq else "")
        + f"; plant revision {history.plant_revision}"
    )
    zone = history.timezone
    stations = Table("station", "started", "completed", "result", title=f"stations ({zone})")
    for visit in history.stations:
        stations.add_row(
            visit.station,
            time_text(visit.started_at, zone),
            time_text(visit.completed_at, zone),
            visit.result,
        )
    out.print(stations)
    parts = Table(
        "station", "part", "serial", "lot", "supplier", "installed", "removed", title="parts"
    )
    for part in history.parts:
        parts.add_row(
            part.station,
            part.part,
            part.serial or "",
            part.lot or "",
            part.supplier or "",
            time_text(part.installed_at, zone),
            time_text(part.removed_at, zone),
        )
    out.print(parts)
    if history.inspections:
        checks = Table("station", "check", "result", "value", "recorded", title="inspections")
        for check in history.inspections:
            value = "" if check.value is None else f"{check.value:g}"
            checks.add_row(
                check.station, check.check, check.result, value, time_text(check.recorded_at, zone)
            )
        out.print(checks)
    if history.defects:
        found = Table(
            "defect", "station", "code", "severity", "opened", "closed", "action", title="defects"
        )
        for defect in history.defects:
            found.add_row(
                defect.defect,
                defect.station,
                defect.code,
                defect.severity,
                time_text(defect.opened_at, zone),
                time_text(defect.closed_at, zone),
                defect.action or "open",
            )
        out.print(found)


@deadletters_app.callback()
def deadletters(
    ctx: typer.Context,
    db: DbOption = None,
    json_output: JsonOption = False,
    show_all: Annotated[bool, typer.Option("--all", help="Include resolved ones.")] = False,
) -> None:
    """List refused events with their reason (open ones unless --all).

    Example: linespeed deadletters --json
    """
    ctx.obj = {"db": db, "json": json_output}
    if ctx.invoked_subcommand is not None:
        return
    engine = open_store(db)
    letters = list_dead_letters(engine, None if show_all else "open")
    if json_output:
        print_json(letters)
        return
    if not letters:
        out.print("no dead letters" if show_all else "no open dead letters")
    zone = plant_zone(engine)
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
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Run open dead letters through ingest again; those now accepted are resolved.

    Example: linespeed deadletters retry --json
    """
    report = retry_dead_letters(Ingestor(open_store(db or ctx.obj["db"])))
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


@app.command()
def rebuild(db: DbOption = None, json_output: JsonOption = False) -> None:
    """Recompute every projection from the event log alone (events are never re-validated).

    Example: linespeed rebuild --db sqlite:///yz1.db
    """
    replayed = rebuild_projections(open_store(db))
    if json_output:
        print_json({"replayed": replayed})
    else:
        out.print(f"rebuilt projections from {plural(replayed, 'event')}")
