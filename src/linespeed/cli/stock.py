"""`linespeed stock`: parts on hand, lots, days of cover and the day each part runs out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from linespeed.cli.common import DbOption, JsonOption, PlantOption, app, out, print_json, store

if TYPE_CHECKING:
    from linespeed.supply.stock import PartStock


@app.command()
def stock(
    part: Annotated[str | None, typer.Option("--part", help="Only this part.")] = None,
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Per part: received, consumed, adjusted, on hand, lots (oldest first), days of cover.

    Soonest run-out first, at the stored plan's rate (else that of the last 7 days).
    Example: linespeed stock --part BAT-1001 --json
    """
    from rich.table import Table

    from linespeed.supply.stock import stock_report

    with store(db, plant) as engine:
        report = stock_report(engine, part=part)
    if json_output:
        print_json(report)
        return
    table = Table(
        "part",
        "supplier",
        "received",
        "consumed",
        "adjusted",
        "on hand",
        "days of cover",
        "runs out",
        "lots on hand (oldest first)",
        title="stock",
    )
    for row in report.parts:
        table.add_row(
            row.part,
            row.supplier or "-",
            f"{row.received:,}",
            f"{row.consumed:,}",
            f"{row.adjusted:+,}" if row.adjusted else "0",
            f"{row.on_hand:,}",
            "-" if row.days_of_cover is None else f"{row.days_of_cover:,.1f}",
            "-" if row.runs_out_on is None else row.runs_out_on.isoformat(),
            _lots(row),
        )
    out.print(table)
    for row in report.parts:
        if row.unreceived:
            listed = ", ".join(f"{piece.serial} in {piece.vin}" for piece in row.unreceived_serials)
            more = "" if row.unreceived <= len(row.unreceived_serials) else ", ..."
            out.print(
                f"flagged: {row.unreceived:,} piece(s) of {row.part} installed but never "
                f"received: {listed}{more}"
            )


def _lots(row: PartStock) -> str:
    shown = ", ".join(f"{lot.lot} ({lot.on_hand:,})" for lot in row.lots[:3])
    return shown + (f", +{len(row.lots) - 3} more" if len(row.lots) > 3 else "")
