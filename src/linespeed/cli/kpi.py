"""`linespeed kpi`: counts, throughput, yield, OEE, downtime and the bottleneck."""

from __future__ import annotations

from typing import Annotated

import typer

from linespeed.cli.choices import GroupBy
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
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Counts, JPH against takt, first-pass yield, defects, downtime, OEE and the bottleneck.

    Example: linespeed kpi --since 2025-05-26T00:00+08:00 --by station --json
    """
    from rich.table import Table

    from linespeed.kpi import kpi_report

    with store(db, plant) as engine:
        zone = plant_zone(engine)
        since_at, until_at = parse_time(since, zone), parse_time(until, zone)
        report = kpi_report(engine, since=since_at, until=until_at, by=by)
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
    out.print(f"planned stops from: {_sources(report.production_hours_source)}")
    if report.planned is not None:
        covered = (
            ""
            if report.plan_coverage is None or report.plan_coverage >= 1
            else f" (the plan covers {_pct(report.plan_coverage)} of the window)"
        )
        out.print(
            f"plan: completed {report.completed} of {_num(report.planned, 0)} planned, "
            f"{_pct(report.planned_vs_actual)}{covered}"
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
            "station",
            "avg active s",
            "active",
            "starved",
            "blocked",
            "starved for parts h",
            "OEE",
            title="stations",
        )
        for station in ranked:
            table.add_row(
                station.station,
                _num(station.average_active_period_s),
                _pct(station.active_share),
                _pct(station.starved_share),
                _pct(station.blocked_share),
                _num(station.starved_for_parts_s / 3600.0, 2)
                if station.starved_for_parts_s
                else "-",
                _pct(station.oee),
            )
        out.print(table)
    for lost in report.shortage_by_part:
        out.print(
            f"shortage {lost.part} ({lost.supplier or 'no supplier'}): "
            f"{_num(lost.seconds / 3600.0, 2)} h lost in {lost.stops} stop(s) "
            f"at {', '.join(lost.stations)}"
        )
    for lost_by in report.shortage_by_supplier:
        out.print(
            f"shortage from {lost_by.supplier or 'no supplier'}: "
            f"{_num(lost_by.seconds / 3600.0, 2)} h lost ({', '.join(lost_by.parts)})"
        )
    for entry in report.pareto_by_code[:5]:
        out.print(f"defects {entry.key}: {entry.defects} ({_pct(entry.share)})")
    for group in report.groups:
        planned = "" if group.planned is None else f" of {_num(group.planned, 0)} planned"
        out.print(
            f"{group.key}: completed {group.completed}{planned}, JPH {_num(group.jph)}, "
            f"FPY {_fpy(group.first_pass_yield, group.units_inspected)}, OEE {_pct(group.oee)}"
        )
    for note in report.notes:
        out.print(f"note: {note}")


SOURCE_NAMES = {
    "station_states": "station states",
    "calendar": "the stored plan's calendar",
    "shift_plan": "the plant's shifts",
    "window": "none (no states, shifts or plan)",
}


def _sources(seconds: dict[str, float]) -> str:
    """Hours of the window per source of planned stops, for people."""
    shown = [
        f"{SOURCE_NAMES.get(name, name)} {_num(value / 3600.0)} h"
        for name, value in seconds.items()
        if value > 0
    ]
    return ", ".join(shown) or "-"


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _fpy(first_pass_yield: float, units_inspected: int) -> str:
    """First-pass yield for people: n/a where nothing was inspected (a station without checks)."""
    return "n/a" if units_inspected == 0 else _pct(first_pass_yield)
