"""`linespeed vin check`: VINs (ISO 3779 / 49 CFR 565)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import typer

from linespeed.cli.common import (
    JsonOption,
    app,
    out,
    print_json,
)
from linespeed.errors import VinError
from linespeed.plant.vin import describe_vin

vin_app = typer.Typer(help="Check VINs (ISO 3779 / 49 CFR 565).", no_args_is_help=True)
app.add_typer(vin_app, name="vin")


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
