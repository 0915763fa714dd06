"""The `linespeed` command: parse, call the library, print. No logic lives here."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from linespeed.errors import LinespeedError, PlantFileError, VinError
from linespeed.ingest.core import DEFAULT_BATCH_SIZE, Ingestor
from linespeed.ingest.files import ingest_files
from linespeed.ingest.lines import ingest_lines
from linespeed.ingest.retry import retry_dead_letters
from linespeed.plant.load import DEFAULT_PLANT_PATH, load_plant
from linespeed.plant.model import Tracking, with_tracking
from linespeed.plant.vin import describe_vin
from linespeed.ramp.milestones import milestones_reached, plan_milestone
from linespeed.sim.emit import Detail, StreamCounts, counted, event_lines, write_lines
from linespeed.sim.run import completion_time
from linespeed.sim.run import simulate as simulate_run
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, load_scenario
from linespeed.store.deadletters import list_dead_letters
from linespeed.store.engine import connect, db_url_from_env, migrate, open_store
from linespeed.store.plants import save_plant
from linespeed.store.rebuild import rebuild as rebuild_projections
from linespeed.trace.history import unit_history

app = typer.Typer(
    name="linespeed",
    help="Production tracking and ramp-up for EV assembly plants.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
plant_app = typer.Typer(help="Check plant files (master data).", no_args_is_help=True)
vin_app = typer.Typer(help="Check VINs (ISO 3779 / 49 CFR 565).", no_args_is_help=True)
deadletters_app = typer.Typer(
    help="List refused events, or retry them: `linespeed deadletters [--json] [--all]`.",
    invoke_without_command=True,
)
app.add_typer(plant_app, name="plant")
app.add_typer(vin_app, name="vin")
app.add_typer(deadletters_app, name="deadletters")
milestones_app = typer.Typer(
    help="Milestone cars reached so far: `linespeed milestones [--json]`; `milestones plan N`.",
    invoke_without_command=True,
)
app.add_typer(milestones_app, name="milestones")

# No markup: VINs, payloads and file names from users are printed as they are.
out = Console(highlight=False, markup=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="LINESPEED_DB",
        help="Database URL (default sqlite:///linespeed.db).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(msgspec.to_builtins(value), indent=2, ensure_ascii=False) + "\n")


@app.command()
def init(
    plant: Annotated[
        Path | None, typer.Option("--plant", help="Plant file to load (default: bundled plant).")
    ] = None,
    tracking: Annotated[
        Tracking | None,
        typer.Option(
            "--tracking",
            help="Override what the plant's lines report: every station, or units only.",
        ),
    ] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Create or migrate the database and load a plant file as a new revision.

    Example: linespeed init --plant plants/yz1.yaml --db sqlite:///yz1.db
    """
    source = plant or DEFAULT_PLANT_PATH
    loaded = load_plant(source)
    if tracking is not None:
        loaded = with_tracking(loaded, tracking)
    engine = connect(db_url_from_env(db))
    migrate(engine)
    revision, created = save_plant(engine, loaded, str(source))
    url = engine.url.render_as_string(hide_password=True)
    result = {"database": url, "plant": loaded.plant, "revision": revision, "created": created}
    if json_output:
        _print_json(result)
    else:
        what = "new revision" if created else "unchanged, revision"
        out.print(f"{url}: plant {loaded.plant} ({what} {revision})")


@plant_app.command("check")
def plant_check(
    file: Annotated[Path, typer.Argument(help="Plant YAML file.")],
    json_output: JsonOption = False,
) -> None:
    """Validate a plant file; every problem names its file, line and field.

    Example: linespeed plant check plants/yz1.yaml
    """
    try:
        plant = load_plant(file)
    except PlantFileError as error:
        if json_output:
            _print_json({"valid": False, "problems": error.problems})
        else:
            for problem in error.problems:
                err.print(str(problem))
        raise typer.Exit(1) from None
    summary = {
        "valid": True,
        "plant": plant.plant,
        "lines": len(plant.lines),
        "stations": len(plant.stations_by_id),
        "models": len(plant.models),
        "bom_parts": sum(len(model.parts) for model in plant.models),
    }
    if json_output:
        _print_json(summary)
    else:
        out.print(
            f"{file}: plant {plant.plant} is valid: {summary['lines']} line(s), "
            f"{summary['stations']} stations, {summary['models']} models, "
            f"{summary['bom_parts']} BOM lines"
        )


@vin_app.command("check")
def vin_check(
    vins: Annotated[list[str], typer.Argument(help="One or more VINs.")],
    json_output: JsonOption = False,
) -> None:
    """Check VINs: length, characters and the check digit; exit 1 if any is invalid.

    Example: linespeed vin check --json 1M8GDM9AXKP042788
    """
    results: list[dict[str, Any]] = []
    for vin in vins:
        try:
            parts = describe_vin(vin)
        except VinError as error:
            results.append(
                {"vin": vin, "valid": False, "reason": error.code, "detail": error.message}
            )
        else:
            results.append({"vin": vin, "valid": True, **msgspec.to_builtins(parts)})
    all_valid = all(result["valid"] for result in results)
    if json_output:
        _print_json({"valid": all_valid, "vins": results})
    else:
        for result in results:
            if result["valid"]:
                out.print(f"{result['vin']}: valid")
            else:
                out.print(f"{result['vin']}: invalid ({result['reason']}): {result['detail']}")
    if not all_valid:
        raise typer.Exit(1)


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
        _print_json(report.as_dict())
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
        _print_json(history)
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
            _time(visit.started_at, zone),
            _time(visit.completed_at, zone),
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
            _time(part.installed_at, zone),
            _time(part.removed_at, zone),
        )
    out.print(parts)
    if history.inspections:
        checks = Table("station", "check", "result", "value", "recorded", title="inspections")
        for check in history.inspections:
            value = "" if check.value is None else f"{check.value:g}"
            checks.add_row(
                check.station, check.check, check.result, value, _time(check.recorded_at, zone)
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
                _time(defect.opened_at, zone),
                _time(defect.closed_at, zone),
                defect.action or "open",
            )
        out.print(found)


def _time(value: datetime | None, zone: str | None = None) -> str:
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(zone)) if zone else value
    return local.isoformat(sep=" ", timespec="seconds")


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
    letters = list_dead_letters(open_store(db), None if show_all else "open")
    if json_output:
        _print_json(letters)
        return
    if not letters:
        out.print("no dead letters" if show_all else "no open dead letters")
    for letter in letters:
        out.print(
            f"#{letter.id} {letter.reason} {letter.source} ({letter.status}, "
            f"received {_time(letter.received_at)}, retried {letter.attempts} times)"
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
        _print_json({"retried": report.retried, "skipped": report.skipped, **report.as_dict()})
    else:
        out.print(
            f"retried {report.retried}: accepted {report.accepted}, "
            f"duplicates {report.duplicates}, still refused {report.rejected}"
            + (
                f"; skipped {report.skipped} CSV rows (fix the file, ingest it again)"
                if report.skipped
                else ""
            )
        )


@milestones_app.callback()
def milestones(ctx: typer.Context, db: DbOption = None, json_output: JsonOption = False) -> None:
    """Milestones reached so far: number, VIN, completion time, days since start of production.

    Example: linespeed milestones --json
    """
    ctx.obj = {"db": db, "json": json_output}
    if ctx.invoked_subcommand is not None:
        return
    report = milestones_reached(open_store(db))
    if json_output:
        _print_json(report)
        return
    out.print(f"{report.completed} cars completed; next milestone: {report.next_milestone}")
    for car in report.reached:
        planned = (
            ""
            if car.was_planned is None
            else ("; the planned car" if car.was_planned else f"; planned {car.planned_vin}")
        )
        out.print(
            f"#{car.number:>7} {car.vin} {car.model} {car.color} "
            f"completed {_time(car.completed_at)}, day {car.days_since_sop:.0f} after SOP{planned}"
        )


@milestones_app.command("plan")
def milestones_plan(
    ctx: typer.Context,
    number: Annotated[int, typer.Argument(help="The milestone: the Nth completed car.")],
    record: Annotated[
        bool, typer.Option("--record", help="Store the best candidate as the car to paint.")
    ] = False,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Which car will be the Nth completed car, so it can be built in the milestone colour.

    Example: linespeed milestones plan 300000 --record
    """
    plan = plan_milestone(open_store(db or ctx.obj["db"]), number, record=record)
    if json_output or ctx.obj["json"]:
        _print_json(plan)
        return
    if plan.reached is not None:
        out.print(
            f"car {number} was completed: {plan.reached.vin} at {_time(plan.reached.completed_at)}"
        )
        return
    out.print(
        f"car {number}: {plan.completed} completed, {plan.in_production} on the line, "
        f"scrap rate {plan.scrap_rate:.4%}"
    )
    if plan.best is not None:
        best = plan.best
        out.print(
            f"build start #{best.start_seq} ({best.vin or 'not started yet'}) "
            f"in the milestone colour: probability {best.probability:.1%}; {plan.note}"
        )


@app.command()
def simulate(
    scenario: Annotated[
        Path | None, typer.Argument(help="Scenario file (default: the bundled scenario).")
    ] = None,
    until_units: Annotated[
        int | None, typer.Option("--until-units", help="Stop when N cars are completed.")
    ] = None,
    days: Annotated[float | None, typer.Option("--days", help="Simulate D days.")] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the events to this JSONL file ('-': stdout)."),
    ] = None,
    into_db: Annotated[
        bool, typer.Option("--into-db", help="Ingest the events into the database.")
    ] = False,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Override the scenario's seed.")
    ] = None,
    detail: Annotated[
        Detail,
        typer.Option(
            "--detail",
            help="full: every event a line sends; units: only unit started/completed/"
            "scrapped/shipped (for lines tracked at unit level).",
        ),
    ] = "full",
    after_units: Annotated[
        int | None,
        typer.Option("--after-units", help="Emit only what happens after car N is completed."),
    ] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Simulate a scenario's line and emit its events in time order, to a file or the database.

    Example: linespeed simulate --until-units 300000 --into-db
    """
    if (out is None) == (not into_db):
        raise LinespeedError("give exactly one of --out FILE and --into-db", code="cli.usage")
    loaded = load_scenario(scenario or DEFAULT_SCENARIO_PATH)
    engine = open_store(db) if into_db else None
    run = simulate_run(loaded, until_units=until_units, days=days, seed=seed)
    counts = StreamCounts()
    after_s = None if after_units is None else completion_time(run, after_units)
    lines = counted(event_lines(run, detail=detail, after_s=after_s), counts)
    with _progress("simulate", None) as advance:
        if engine is not None:
            report = ingest_lines(
                Ingestor(engine), lines, f"sim:{loaded.scenario.scenario}", progress=advance
            )
            ingest = report.as_dict()
        else:
            write_lines(lines, out or Path("-"), progress=advance)
            ingest = None
    summary = {
        "scenario": loaded.scenario.scenario,
        "seed": run.seed,
        "events": counts.events,
        "cars_started": counts.started,
        "cars_completed": counts.completed,
        "last_completed_vin": counts.last_completed_vin,
        "last_event_at": counts.last_ts,
        "days": round(run.until_s / 86_400.0, 2),
        "ingest": ingest,
    }
    if json_output:
        _print_json(summary)
    else:
        err.print(
            f"{summary['scenario']} (seed {run.seed}): {counts.events} events, "
            f"{counts.started} cars started, {counts.completed} completed "
            f"in {summary['days']} days (last event {counts.last_ts}); "
            f"car #{counts.completed} completed: {counts.last_completed_vin}"
        )
        if ingest is not None:
            err.print(
                f"ingest: accepted {ingest['accepted']}, duplicates {ingest['duplicates']}, "
                f"rejected {ingest['rejected']}"
            )


@contextmanager
def _progress(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda done: progress.advance(task, done)


@app.command()
def rebuild(db: DbOption = None, json_output: JsonOption = False) -> None:
    """Recompute every projection from the event log alone (events are never re-validated).

    Example: linespeed rebuild --db sqlite:///yz1.db
    """
    replayed = rebuild_projections(open_store(db))
    if json_output:
        _print_json({"replayed": replayed})
    else:
        out.print(f"rebuilt projections from {replayed} events")


def main() -> None:
    """Entry point of the `linespeed` command: prints linespeed errors and exits 1."""
    try:
        app()
    except LinespeedError as error:
        err.print(f"error: {error.message}")
        sys.exit(1)
