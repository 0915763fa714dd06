"""`linespeed twin calibrate`: a scenario fitted from the store's own history."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
    print_json,
    store,
    time_text,
)

twin_app = typer.Typer(
    help="The twin: a scenario fitted from the plant's own data (`twin calibrate --out FILE`).",
    no_args_is_help=True,
)
app.add_typer(twin_app, name="twin")


@twin_app.command("calibrate")
@flag_names({"since": "--since", "until": "--until", "line": "--line", "out": "--out"})
def calibrate(
    out_file: Annotated[
        Path, typer.Option("--out", help="The scenario file to write (YAML, for review).")
    ],
    since: Annotated[
        str | None,
        typer.Option("--since", help="Fit from (ISO time with offset; default: 60 days back)."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="Fit to (ISO time with offset; default: the last event)."),
    ] = None,
    line: Annotated[
        str | None, typer.Option("--line", help="The line (default: the plant's first).")
    ] = None,
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Fit a scenario to the store: work times and learning, failures, defects, scrap, mix,
    the stored plan and the parts received; every fitted value commented with its data.

    The twin resumes where the line stood at the window's end; `linespeed whatif FILE`
    answers from it. Too little data for a field names the field and what was found.

    Example: linespeed twin calibrate --out twin.yaml
    """
    # imported here: the simulator's compiler loads slowly, and only the twin needs it
    from linespeed.twin.calibrate import calibrate as fit_twin

    with store(db, plant) as engine:
        zone = plant_zone(engine)
        fitted = fit_twin(
            engine, since=parse_time(since, zone), until=parse_time(until, zone), line=line
        )
    written = fitted.write(out_file)
    summary = fitted.summary()
    if json_output:
        print_json({**summary, "files": [str(path) for path in written]})
        return
    window = fitted.history.window
    out.print(
        f"twin of line {summary['line']}: fitted from {time_text(window.since, zone)} to "
        f"{time_text(window.until, zone)}; {summary['cars_completed']:,} cars completed by then"
    )
    for path in written:
        out.print(f"wrote {path}")
    out.print(f"next: linespeed whatif {out_file} --until-units N")
