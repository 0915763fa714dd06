"""`linespeed aftersales plan`: service bays and fast chargers per region as the fleet grows."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from linespeed.cli.common import DbOption, JsonOption, PlantOption, app, out, print_json, store
from linespeed.cli.errors import CliUsageError

if TYPE_CHECKING:
    from linespeed.aftersales.plan import AftersalesPlan

aftersales_app = typer.Typer(
    help="After-sales capacity: service bays and fast chargers per region as the fleet grows.",
    no_args_is_help=True,
)
app.add_typer(aftersales_app, name="aftersales")


@aftersales_app.command("plan")
def aftersales_plan(
    deliveries: Annotated[
        Path | None,
        typer.Option("--deliveries", help="Monthly deliveries CSV: month,deliveries."),
    ] = None,
    from_store: Annotated[
        bool,
        typer.Option(
            "--from-store", help="Deliveries from the store (shipped cars), forecast to --until."
        ),
    ] = False,
    regions: Annotated[
        Path | None,
        typer.Option("--regions", help="Regions CSV: region,share (default: one region, all)."),
    ] = None,
    network: Annotated[
        Path | None,
        typer.Option("--network", help="Network plan CSV: region,month,bays,chargers."),
    ] = None,
    params: Annotated[
        Path | None,
        typer.Option("--params", help="Parameters YAML overriding the defaults."),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Last month planned (YYYY-MM).")
    ] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write the picture (PNG).")] = None,
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Vehicles in operation, service bays and fast chargers needed per region and month,
    against the network planned; the gaps where it falls short.

    Example: linespeed aftersales plan --deliveries deliveries.csv --regions regions.csv
    --network network.csv
    """
    from linespeed.aftersales.files import (
        DEFAULT_REGIONS,
        Month,
        parse_deliveries,
        parse_network,
        parse_regions,
        read_input,
    )
    from linespeed.aftersales.params import default_parameters, parse_parameters
    from linespeed.aftersales.plan import plan_aftersales, plan_json
    from linespeed.aftersales.store_deliveries import store_deliveries

    if (deliveries is None) == (not from_store):
        raise CliUsageError(
            "give either --deliveries FILE.csv or --from-store", parameter="--deliveries"
        )
    last = None
    if until is not None:
        last = Month.parse(until)
        if last is None:
            raise CliUsageError(
                f"--until {until!r} is not a month YYYY-MM", parameter="--until", value=until
            )
    region_list = (
        DEFAULT_REGIONS if regions is None else parse_regions(read_input(regions), str(regions))
    )
    network_rows = (
        None if network is None else parse_network(read_input(network), str(network), region_list)
    )
    parameters = (
        default_parameters()
        if params is None
        else parse_parameters(read_input(params), str(params))
    )
    forecast_from = None
    if deliveries is not None:
        monthly = parse_deliveries(read_input(deliveries), str(deliveries))
    else:
        with store(db, plant) as engine:
            found = store_deliveries(engine, last)
        if found is None:
            raise CliUsageError(
                "the store holds no shipped or completed car to plan from",
                parameter="--from-store",
            )
        monthly, forecast_from = found.deliveries, found.forecast_from
    plan = plan_aftersales(
        monthly,
        regions=region_list,
        network=network_rows,
        parameters=parameters,
        until=last,
        forecast_from=forecast_from,
    )
    if plot is not None:
        # imported here: matplotlib loads slowly
        from linespeed.aftersales.plot import plot_plan

        plot_plan(plot, plan)
    if json_output:
        print_json(plan_json(plan))
        return
    _print(plan, planned=network_rows is not None)
    if plot is not None:
        out.print(f"wrote {plot}")


def _print(plan: AftersalesPlan, *, planned: bool) -> None:
    from rich.table import Table

    table = Table("month", "region", title="plan")
    numbers = ["vehicles", "bays needed", "chargers needed"]
    for name in numbers + (["bays planned", "chargers planned"] if planned else []):
        table.add_column(name, justify="right")
    for row in plan.rows:
        month = str(row.month)
        if plan.forecast_from is not None and row.month >= plan.forecast_from:
            month += " f"
        cells = [
            month,
            row.region,
            f"{row.vehicles:,}",
            f"{row.bays_needed:,}",
            f"{row.chargers_needed:,}",
        ]
        if planned:
            cells += [f"{row.bays_planned or 0:,}", f"{row.chargers_planned or 0:,}"]
        table.add_row(*cells)
    out.print(table)
    if plan.forecast_from is not None:
        out.print(f"f: deliveries forecast from {plan.forecast_from} (flat recent rate)")
    if not planned:
        return
    gaps = plan.gaps
    if not gaps:
        out.print("gaps: none; the network planned covers every region and month")
        return
    gap_table = Table("region", "month", title="gaps: needed beyond planned")
    gap_table.add_column("bays short", justify="right")
    gap_table.add_column("chargers short", justify="right")
    order = {region.region: index for index, region in enumerate(plan.regions)}
    for row in sorted(gaps, key=lambda row: (order[row.region], row.month)):
        gap_table.add_row(row.region, str(row.month), f"{row.bays_gap:,}", f"{row.chargers_gap:,}")
    out.print(gap_table)
