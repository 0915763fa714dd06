"""Commands that measure the line: `milestones` (and KPIs and ramp)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from linespeed.cli.common import (
    DbOption,
    JsonOption,
    app,
    flag_names,
    milestones_app,
    out,
    parse_time,
    plant_zone,
    plural,
    print_json,
    ramp_app,
    time_text,
)
from linespeed.kpi import kpi_report
from linespeed.kpi.report import GroupBy
from linespeed.ramp.milestones import milestones_reached, plan_milestone
from linespeed.store.engine import open_store


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
        print_json(report)
        return
    out.print(
        f"{plural(report.completed, 'car')} completed; next milestone: {report.next_milestone}"
    )
    for car in report.reached:
        planned = (
            ""
            if car.was_planned is None
            else ("; the planned car" if car.was_planned else f"; planned {car.planned_vin}")
        )
        out.print(
            f"#{car.number:>7} {car.vin} {car.model} {car.color} "
            f"completed {time_text(car.completed_at, report.timezone)}, "
            f"day {car.days_since_sop:.0f} after SOP{planned}"
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
    engine = open_store(db or ctx.obj["db"])
    plan = plan_milestone(engine, number, record=record)
    if json_output or ctx.obj["json"]:
        print_json(plan)
        return
    if plan.reached is not None:
        out.print(
            f"car {number} was completed: {plan.reached.vin} "
            f"at {time_text(plan.reached.completed_at, plant_zone(engine))}"
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


@ramp_app.callback()
def ramp(
    ctx: typer.Context,
    reference: Annotated[
        list[str] | None,
        typer.Option("--reference", help="Reference ramp to compare with (repeatable)."),
    ] = None,
    forecast: Annotated[
        list[int] | None,
        typer.Option("--forecast", help="Forecast the day the plant reaches N (repeatable)."),
    ] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write the picture (PNG).")] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """The plant's cumulative ramp against reference ramps, with forecasts of the next milestones.

    Example: linespeed ramp --reference tesla-model-3 --forecast 300000 --plot ramp.png
    """
    if ctx.invoked_subcommand is not None:
        return
    # imported here: fitting and plotting libraries load slowly, and only ramp needs them
    from linespeed.ramp.plot import plot_ramps
    from linespeed.ramp.report import DEFAULT_REFERENCES, compare_text, ramp_report

    report = ramp_report(
        open_store(db),
        references=reference or DEFAULT_REFERENCES,
        targets=forecast or (),
    )
    if plot is not None:
        plot_ramps(
            plot,
            report.plant,
            report.references,
            forecast_band=report.forecasts[0] if report.forecasts else None,
        )
    if json_output:
        print_json(report.to_json())
        return
    if report.plant is not None:
        last_day, total = report.plant.pairs()[-1]
        out.print(
            f"{report.plant.legend}: {total:,.0f} {'car' if total == 1 else 'cars'} by {last_day}, "
            f"start of production {report.plant.start}"
        )
    for item in report.forecasts:
        high = item.high.isoformat() if item.high else "never"
        out.print(
            f"car {item.target:,.0f}: forecast {item.date} (90%: {item.low} to {high}), "
            f"model {item.model}"
        )
    out.print(compare_text(report))
    for note in report.notes:
        out.print(f"note: {note}")
    if plot is not None:
        out.print(f"wrote {plot}")


@ramp_app.command("forecast")
def ramp_forecast(
    csv: Annotated[
        Path, typer.Option("--csv", help="CSV of date,cumulative or period_end,quantity.")
    ],
    target: Annotated[int, typer.Option("--target", help="The cumulative count to forecast.")],
    json_output: JsonOption = False,
) -> None:
    """Forecast the day any cumulative series (a maker's public numbers) reaches N.

    Example: linespeed ramp forecast --csv tesla.csv --target 300000 --json
    """
    from linespeed.ramp.forecast import forecast_target
    from linespeed.ramp.series import read_series_csv

    result = forecast_target(read_series_csv(csv), target, source=str(csv))
    if json_output:
        print_json(result.to_json())
        return
    high = result.high.isoformat() if result.high else "never"
    out.print(
        f"{csv}: {target:,} on {result.date} (90%: {result.low} to {high}), model {result.model}"
    )


@app.command()
@flag_names({"since": "--since", "until": "--until"})
def kpi(
    since: Annotated[
        str | None, typer.Option("--since", help="Start of the window (ISO time with offset).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="End of the window (ISO time with offset).")
    ] = None,
    by: Annotated[GroupBy | None, typer.Option("--by", help="Group counts and rates.")] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Counts, JPH against takt, first-pass yield, defects, downtime, OEE and the bottleneck.

    Example: linespeed kpi --since 2025-05-26T00:00+08:00 --by station --json
    """
    engine = open_store(db)
    zone = plant_zone(engine)
    report = kpi_report(engine, since=parse_time(since, zone), until=parse_time(until, zone), by=by)
    if json_output:
        print_json(report)
        return
    out.print(
        f"{time_text(report.since, zone)} to {time_text(report.until, zone)}: "
        f"started {report.produced}, "
        f"completed {report.completed}, scrapped {report.scrapped}, WIP {report.wip}"
    )
    out.print(
        f"JPH {_num(report.jph)} against takt {_num(report.takt_jph)} "
        f"over {_num(report.production_hours)} production hours; "
        f"first-pass yield {_fpy(report.first_pass_yield, report.units_inspected)}, "
        f"defects per unit {_num(report.defects_per_unit, 3)}"
    )
    for line in report.lines:
        out.print(
            f"line {line.line}: OEE {_pct(line.oee)} = availability {_pct(line.availability)} "
            f"x effectiveness {_pct(line.effectiveness)} x quality {_pct(line.quality_ratio)}"
        )
    if report.bottleneck:
        out.print(f"bottleneck: {report.bottleneck} (longest average active period)")
    ranked = sorted(report.stations, key=lambda s: -(s.average_active_period_s or 0.0))
    if ranked:
        table = Table(
            "station", "avg active s", "active", "starved", "blocked", "OEE", title="stations"
        )
        for station in ranked:
            table.add_row(
                station.station,
                _num(station.average_active_period_s),
                _pct(station.active_share),
                _pct(station.starved_share),
                _pct(station.blocked_share),
                _pct(station.oee),
            )
        out.print(table)
    for entry in report.pareto_by_code[:5]:
        out.print(f"defects {entry.key}: {entry.defects} ({_pct(entry.share)})")
    for group in report.groups:
        out.print(
            f"{group.key}: completed {group.completed}, JPH {_num(group.jph)}, "
            f"FPY {_fpy(group.first_pass_yield, group.units_inspected)}, OEE {_pct(group.oee)}"
        )
    for note in report.notes:
        out.print(f"note: {note}")


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _fpy(first_pass_yield: float, units_inspected: int) -> str:
    """First-pass yield for people: n/a where nothing was inspected (a station without checks)."""
    return "n/a" if units_inspected == 0 else _pct(first_pass_yield)
