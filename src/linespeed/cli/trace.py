"""Commands for genealogy and recall: `trace vin`, `trace part`, `trace missing`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from linespeed.cli.choices import StatusFilter
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
from linespeed.errors import InputFileError

if TYPE_CHECKING:
    from linespeed.trace import Recall

trace_app = typer.Typer(
    help=(
        "Genealogy and recall: `linespeed trace vin VIN`, `linespeed trace part PART --lot L`,"
        " `linespeed trace missing`."
    ),
    no_args_is_help=True,
)
app.add_typer(trace_app, name="trace")


@trace_app.command("vin")
def trace_vin(
    vin: Annotated[str, typer.Argument(help="The car's VIN.")],
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Every part in a car: serial or lot, supplier, station, time, and where serials moved.

    Example: linespeed trace vin LSPA1S7E8SB000001 --json
    """
    from rich.table import Table

    from linespeed.trace import vin_trace

    with store(db, plant) as engine:
        trace = vin_trace(engine, vin)
    if json_output:
        print_json(trace)
        return
    out.print(f"{trace.vin} {trace.model} {trace.color}: {trace.status.replace('_', ' ')}")
    table = Table(
        "station",
        "part",
        "serial",
        "lot",
        "supplier",
        "installed",
        "removed",
        "other cars",
        title=f"parts ({trace.timezone})",
    )
    for part in trace.parts:
        removed = time_text(part.removed_at, trace.timezone)
        if part.removed_reason is not None:
            removed += f" ({part.removed_reason})"
        table.add_row(
            part.station,
            part.part,
            part.serial or "",
            part.lot or "",
            part.supplier or "",
            time_text(part.installed_at, trace.timezone)
            + (" correction" if part.correction else ""),
            removed,
            " ".join(other.vin for other in part.other_cars),
        )
    out.print(table)


@trace_app.command("missing")
def trace_missing(
    plant: PlantOption = None, db: DbOption = None, json_output: JsonOption = False
) -> None:
    """Completed and shipped cars without a serialized part their BOM requires.

    Example: linespeed trace missing --json
    """
    from rich.table import Table

    from linespeed.trace import missing_parts

    with store(db, plant) as engine:
        zone = plant_zone(engine)
        found = missing_parts(engine)
    if json_output:
        print_json(found)
        return
    table = Table("vin", "model", "status", "completed", "missing parts", title=f"cars ({zone})")
    for car in found.cars:
        table.add_row(
            car.vin,
            car.model,
            car.status,
            time_text(car.completed_at, zone),
            " ".join(f"{missing.part}@{missing.station}" for missing in car.missing),
        )
    if found.cars:
        out.print(table)
    out.print(f"{plural(found.count, 'car')} built without a serialized part their BOM requires")


@trace_app.command("part")
@flag_names(
    {"from": "--from", "to": "--to", "lot": "--lot", "serial": "--serial", "supplier": "--supplier"}
)
def trace_part(
    part: Annotated[str, typer.Argument(help="The part number, as in the BOM.")],
    lot: Annotated[
        list[str] | None, typer.Option("--lot", help="A lot of the part (repeat for more).")
    ] = None,
    serial: Annotated[str | None, typer.Option("--serial", help="One serialized piece.")] = None,
    supplier: Annotated[str | None, typer.Option("--supplier", help="The supplier.")] = None,
    installed_from: Annotated[
        str | None, typer.Option("--from", help="Installed at or after (ISO time with offset).")
    ] = None,
    installed_to: Annotated[
        str | None, typer.Option("--to", help="Installed at or before (ISO time with offset).")
    ] = None,
    status: Annotated[
        StatusFilter | None, typer.Option("--status", help="Only cars in this status.")
    ] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write the recall file (CSV) here.")
    ] = None,
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Every car that holds a matching piece, where it is now, and counts per status.

    Without --plant, every plant of the store is searched: a supplier's lot used in two
    plants is recalled in both, each car with its plant.

    Example: linespeed trace part BRK-2201 --lot BRK-2201-L00042 --csv recall.csv
    """
    from linespeed.store.plant_stores import every_plant_store
    from linespeed.trace import plants_recall

    with every_plant_store(db, () if plant is None else (plant,)) as plants:
        zone = plant_zone(plants[0][1])
        recall = plants_recall(
            [engine for _, engine in plants],
            part,
            lots=lot or [],
            serial=serial,
            supplier=supplier,
            installed_from=parse_time(installed_from, zone),
            installed_to=parse_time(installed_to, zone),
            status=status,
        )
    if csv_file is not None:
        write_recall_csv(recall, csv_file)
    if json_output:
        print_json(recall.answer())
        return
    _print_recall(recall, csv_file)


def write_recall_csv(recall: Recall, path: Path) -> None:
    """Write the recall file (`trace.recall_csv`) to `path`.

    Raises InputFileError if the file cannot be written.
    """
    from linespeed.trace import recall_csv

    try:
        with path.open("w", newline="", encoding="utf-8") as stream:
            stream.write(recall_csv(recall))
    except OSError as error:
        raise InputFileError(str(path), f"cannot write the recall file: {error.strerror}") from None


def _print_recall(recall: Recall, csv_file: Path | None) -> None:
    from rich.table import Table

    from linespeed.trace import CAR_STATUSES

    zone = recall.timezone
    several = len(recall.plants) > 1
    table = Table(
        *(["plant"] if several else []),
        "vin",
        "model",
        "color",
        "status",
        "at",
        "completed",
        "shipped",
        "destination",
        "serial/lot",
        title=f"cars holding {recall.part} ({zone})",
    )
    for car in recall.cars:
        table.add_row(
            *([car.plant] if several else []),
            car.vin,
            car.model,
            car.color,
            car.status.replace("_", " "),
            car.station or "",
            time_text(car.completed_at, zone),
            time_text(car.shipped_at, zone),
            car.destination or "",
            car.serial or car.lot or "",
        )
    if recall.cars:
        out.print(table)
    counts = ", ".join(f"{name.replace('_', ' ')} {recall.counts[name]}" for name in CAR_STATUSES)
    pieces, cars = plural(len(recall.cars), "piece"), plural(sum(recall.counts.values()), "car")
    out.print(f"{pieces} in {cars}: {counts}")
    if csv_file is not None:
        out.print(f"recall file: {csv_file}")
