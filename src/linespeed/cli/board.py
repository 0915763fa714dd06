"""`linespeed board`: the line board in a terminal."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from linespeed.cli.common import (
    DbOption,
    JsonOption,
    PlantOption,
    app,
    out,
    print_json,
    store,
)
from linespeed.cli.errors import CliUsageError


@app.command()
def board(
    day: Annotated[
        str | None, typer.Option("--day", help="Plant-local day YYYY-MM-DD (default: latest).")
    ] = None,
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """The line's board: the day's completions against takt, JPH, WIP, first-pass yield,
    stations, open defects and the countdown to the next milestone car.

    Example: linespeed board --json
    """
    from linespeed.live.board import line_board

    try:
        chosen = None if day is None else date.fromisoformat(day)
    except ValueError:
        raise CliUsageError(
            f"{day!r} is not a day such as 2025-06-30", parameter="--day", value=day
        ) from None
    with store(db, plant) as engine:
        report = line_board(engine, day=chosen)
    if json_output:
        print_json(report)
        return
    today = report.today
    first_pass_yield = "n/a" if today.units_inspected == 0 else f"{today.first_pass_yield:.1%}"
    out.print(
        f"{report.name} on {today.day}: completed {today.completed} ("
        + (f"plan {today.planned}, " if today.planned is not None else "")
        + f"at takt {today.planned_at_takt}), JPH {today.jph:.1f} against takt "
        f"{today.takt_jph:.1f}, "
        f"WIP {today.wip}, first-pass yield {first_pass_yield}, "
        f"bottleneck {today.bottleneck or '-'}"
    )
    stopped = [s for s in report.stations if s.state not in (None, "running")]
    for station in stopped:
        out.print(f"  {station.station}: {station.state} {station.reason or ''}".rstrip())
    out.print(f"open defects on cars in production: {len(report.open_defects)}")
    countdown = report.countdown
    if countdown.next_milestone is not None:
        planned = countdown.planned_vin or f"start #{countdown.planned_start_seq} (not started)"
        out.print(
            f"next milestone {countdown.next_milestone:,}: {countdown.remaining:,} to go; "
            f"planned car {planned}"
        )
