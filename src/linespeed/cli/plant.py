"""`linespeed plant check`: plant files (master data)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from linespeed.cli.common import (
    JsonOption,
    app,
    err,
    out,
    plural,
    print_json,
)
from linespeed.errors import PlantFileError

plant_app = typer.Typer(help="Check plant files (master data).", no_args_is_help=True)
app.add_typer(plant_app, name="plant")


@plant_app.command("check")
def plant_check(
    file: Annotated[Path, typer.Argument(help="Plant YAML file.")],
    json_output: JsonOption = False,
) -> None:
    """Validate a plant file; every problem names its file, line and field.

    Example: linespeed plant check plants/yz1.yaml
    """
    from linespeed.plant.load import load_plant

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
