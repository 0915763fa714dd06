"""Commands on master data: `init`, `plant check`, `vin check`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer

from linespeed.cli.common import (
    DbOption,
    JsonOption,
    app,
    err,
    out,
    plant_app,
    plural,
    print_json,
    vin_app,
)
from linespeed.errors import PlantFileError, VinError
from linespeed.plant.load import DEFAULT_PLANT_PATH, load_plant
from linespeed.plant.model import Tracking, with_tracking
from linespeed.plant.vin import describe_vin
from linespeed.store.engine import connect, db_url_from_env, migrate
from linespeed.store.plants import save_plant
from linespeed.store.settings import init_simulation


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
    simulation: Annotated[
        bool,
        typer.Option(
            "--simulation",
            help="Create a simulation store: the only kind that accepts the simulator's events."
            " Refused on a store that already holds events; a simulation store stays one.",
        ),
    ] = False,
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
    is_simulation = init_simulation(engine, simulation=simulation)
    revision, created = save_plant(engine, loaded, str(source))
    url = engine.url.render_as_string(hide_password=True)
    result = {
        "database": url,
        "plant": loaded.plant,
        "revision": revision,
        "created": created,
        "simulation": is_simulation,
    }
    if json_output:
        print_json(result)
    else:
        what = "new revision" if created else "unchanged, revision"
        kind = "simulation store, " if is_simulation else ""
        out.print(f"{url}: {kind}plant {loaded.plant} ({what} {revision})")


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
            print_json({"valid": False, "problems": error.problems})
        else:
            for problem in error.problems:
                err.print(str(problem))
        raise typer.Exit(1) from None
    bom_parts = sum(len(model.parts) for model in plant.models)
    summary = {
        "valid": True,
        "plant": plant.plant,
        "lines": len(plant.lines),
        "stations": len(plant.stations_by_id),
        "models": len(plant.models),
        "bom_parts": bom_parts,
    }
    if json_output:
        print_json(summary)
    else:
        out.print(
            f"{file}: plant {plant.plant} is valid: {plural(len(plant.lines), 'line')}, "
            f"{plural(len(plant.stations_by_id), 'station')}, "
            f"{plural(len(plant.models), 'model')}, {plural(bom_parts, 'BOM line')}"
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
        print_json({"valid": all_valid, "vins": results})
    else:
        for result in results:
            if result["valid"]:
                out.print(f"{result['vin']}: valid")
            else:
                out.print(f"{result['vin']}: invalid ({result['reason']}): {result['detail']}")
    if not all_valid:
        raise typer.Exit(1)
