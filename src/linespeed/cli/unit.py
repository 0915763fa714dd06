"""`linespeed unit VIN`: one car's history."""

from __future__ import annotations

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
    time_text,
)


@app.command()
def unit(
    vin: Annotated[str, typer.Argument(help="The car's VIN.")],
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show a car's full history: stations, parts, inspections, defects, status.

    Example: linespeed unit LSPA1S7E8SB000001
    """
    from rich.table import Table

    from linespeed.trace.history import unit_history

    with store(db, plant) as engine:
        history = unit_history(engine, vin)
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
