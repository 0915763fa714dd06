"""`linespeed vin check`: VINs (ISO 3779 / 49 CFR 565), alone or by a plant's VIN rules."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from linespeed.cli.common import (
    JsonOption,
    app,
    out,
    print_json,
    store,
)

if TYPE_CHECKING:
    from linespeed.plant.model import Plant

vin_app = typer.Typer(help="Check VINs (ISO 3779 / 49 CFR 565).", no_args_is_help=True)
app.add_typer(vin_app, name="vin")


def _plant(plant_file: Path | None, db: str | None) -> Plant | None:
    """The plant whose VIN rules apply: from `--plant`, else the store of `--db`, else none."""
    if plant_file is not None and db is not None:
        raise typer.BadParameter("give --plant FILE or --db URL, not both", param_hint="--db")
    if plant_file is not None:
        from linespeed.plant.load import load_plant

        return load_plant(plant_file)
    if db is None:
        return None
    from linespeed.store.plants import current_plant

    with store(db) as engine, engine.connect() as connection:
        return current_plant(connection)


@vin_app.command("check")
def vin_check(
    vins: Annotated[list[str], typer.Argument(help="One or more VINs.")],
    plant_file: Annotated[
        Path | None,
        typer.Option("--plant", help="Check by this plant file's VIN rules (vin: section)."),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Check by the VIN rules of the plant in this database (LINESPEED_DB is not read).",
            show_default=False,
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Check VINs: length, characters and the check digit; exit 1 if any is invalid.

    With --plant or --db, the plant's VIN rules apply: its check digit (required or none),
    a model-year code in position 10 and its model year; WMI, descriptor and plant code are
    checked when cars are ingested.

    Example: linespeed vin check --json 1M8GDM9AXKP042788
    """
    from linespeed.plant.vin import check_vins, vin_rules_text

    plant = _plant(plant_file, db)
    verdicts = check_vins(vins, None if plant is None else plant.vin)
    results: list[dict[str, Any]] = []
    for verdict in verdicts:
        if verdict.parts is None:
            results.append(
                {
                    "vin": verdict.vin,
                    "valid": False,
                    "reason": verdict.reason,
                    "detail": verdict.detail,
                }
            )
        else:
            results.append({"vin": verdict.vin, "valid": True, **asdict(verdict.parts)})
    all_valid = all(verdict.valid for verdict in verdicts)
    if json_output:
        document: dict[str, Any] = {"valid": all_valid, "vins": results}
        if plant is not None:
            document["plant"] = {
                "plant": plant.plant,
                "check_digit": plant.vin.check_digit,
                "model_year": plant.vin.model_year,
            }
        print_json(document)
    else:
        if plant is not None:
            out.print(f"plant {plant.plant} {vin_rules_text(plant.vin)}")
        for result in results:
            if result["valid"]:
                out.print(f"{result['vin']}: valid")
            else:
                out.print(f"{result['vin']}: invalid ({result['reason']}): {result['detail']}")
    if not all_valid:
        raise typer.Exit(1)
