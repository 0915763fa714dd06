"""`linespeed ramp` and `ramp forecast`: the ramp curve against reference ramps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from linespeed.cli.common import (
    DbOption,
    JsonOption,
    PlantOption,
    app,
    out,
    plant_zone,
    print_json,
    store,
    time_text,
)

ramp_app = typer.Typer(
    help="The ramp curve against reference ramps, with forecasts: `linespeed ramp [--json]`;"
    " `ramp forecast --csv FILE --target N` for any series.",
    invoke_without_command=True,
)
app.add_typer(ramp_app, name="ramp")


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
    twin: Annotated[
        bool,
        typer.Option(
            "--twin",
            help="Also forecast by running the plant's twin (fitted from the store) 30 times.",
        ),
    ] = False,
    plant: Annotated[
        list[str] | None,
        typer.Option(
            "--plant",
            help="The plant to ask, in a store of several; repeat to compare plants' ramps"
            " in days since each one's start of production.",
        ),
    ] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """The plant's cumulative ramp against reference ramps, with forecasts of the next milestones.

    With --twin, the same targets are also forecast by calibrating a twin from the store
    (as `twin calibrate` does) and running it with `whatif`: P10/P50/P90 beside the curve
    fit's 90% interval. With --plant twice or more, the plants' ramps side by side, each
    from its own start of production (with references only if --reference is given).

    Example: linespeed ramp --reference tesla-model-3 --forecast 300000 --plot ramp.png
    """
    if ctx.invoked_subcommand is not None:
        return
    if plant is not None and len(set(plant)) > 1:
        _compare_plants(tuple(plant), reference or (), plot, db, json_output=json_output)
        return
    # imported here: fitting and plotting libraries load slowly, and only ramp needs them
    from linespeed.ramp.plot import plot_ramps
    from linespeed.ramp.report import DEFAULT_REFERENCES, compare_text, ramp_report

    with store(db, plant[0] if plant else None) as engine:
        references, targets = reference or DEFAULT_REFERENCES, forecast or ()
        if twin:
            from linespeed.twin.forecast import ramp_report_with_twin

            report = ramp_report_with_twin(engine, references=references, targets=targets)
        else:
            report = ramp_report(engine, references=references, targets=targets)
        zone = plant_zone(engine)
    if plot is not None:
        plot_ramps(
            plot,
            report.plant,
            report.references,
            forecast_band=report.forecasts[0] if report.forecasts else None,
            plan_series=None if report.plan is None else report.plan.series,
            twin=report.twin,
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
    plan = report.plan
    if plan is not None and plan.planned_to_date is not None:
        share = "" if plan.actual_vs_plan is None else f" ({plan.actual_vs_plan:.1%} of plan)"
        out.print(
            f"plan: {plan.planned_to_date:,.0f} cars planned by {plan.day}, "
            f"{plan.actual_to_date:,.0f} built{share}; the plan runs to "
            f"{plan.series.pairs()[-1][1]:,.0f} cars by {plan.series.pairs()[-1][0]}"
        )
    for item in report.forecasts:
        high = item.high.isoformat() if item.high else "never"
        out.print(
            f"car {item.target:,.0f}: forecast {item.date} (90%: {item.low} to {high}), "
            f"model {item.model}"
        )
    if report.twin is not None:
        fitted = report.twin
        out.print(
            f"twin: fitted from {time_text(fitted.fitted_from, zone)} to "
            f"{time_text(fitted.fitted_to, zone)} ({fitted.cars_completed:,} cars built), "
            f"{fitted.runs} runs"
        )
        for band in fitted.bands:
            out.print(
                f"car {band.target:,}: twin P50 {time_text(band.p50, zone)} "
                f"(P10 {time_text(band.p10, zone)}, P90 {time_text(band.p90, zone)})"
            )
    out.print(compare_text(report))


def _compare_plants(
    plants: tuple[str, ...],
    references: list[str] | tuple[str, ...],
    plot: Path | None,
    db: str | None,
    *,
    json_output: bool,
) -> None:
    from linespeed.ramp.plants_ramp import plants_ramp
    from linespeed.ramp.plot import plot_ramps
    from linespeed.store.plant_stores import every_plant_store

    with every_plant_store(db, plants) as engines:
        report = plants_ramp(engines, references=references)
    if plot is not None and report.plants:
        first, *others = report.plants
        plot_ramps(plot, first, [*others, *report.references])
    if json_output:
        print_json(report.to_json())
        return
    out.print(report.to_text())
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
    sop: Annotated[
        str | None,
        typer.Option(
            "--sop", help="Start of production (YYYY-MM-DD): a zero point before the first row."
        ),
    ] = None,
    metric: Annotated[
        str,
        typer.Option("--metric", help="What the file counts: produced, delivered or unspecified."),
    ] = "unspecified",
    reference: Annotated[
        list[str] | None,
        typer.Option("--reference", help="Reference ramp to draw beside it (repeatable)."),
    ] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write the picture (PNG).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Forecast the day any cumulative series (a maker's public numbers) reaches N.

    From 3 points on (with --sop, the start of production counts as a zero point); the fewer
    the points, the wider the 90% interval.

    Example: linespeed ramp forecast --csv nio.csv --target 100000 --sop 2018-05-27
    --metric delivered --plot nio.png --reference tesla-model-3
    """
    from linespeed.ramp.forecast import forecast_target
    from linespeed.ramp.references import reference_series
    from linespeed.ramp.series import METRIC_WORDS, forecast_csv_series

    references = [reference_series(name) for name in reference or ()]
    series = forecast_csv_series(csv, metric=metric, sop=sop)
    result = forecast_target(series, target, source=str(csv))
    if plot is not None:
        from linespeed.ramp.plot import plot_ramps

        plot_ramps(plot, series, references, milestones=(target,), forecast_band=result)
    if json_output:
        print_json(result.to_json())
        return
    high = result.high.isoformat() if result.high else "never"
    what = "" if series.metric == "unspecified" else f" ({METRIC_WORDS[series.metric]})"
    out.print(
        f"{csv}{what}: {target:,} on {result.date} (90%: {result.low} to {high}), "
        f"model {result.model}, from {result.detail.points} points"
    )
    if plot is not None:
        out.print(f"wrote {plot}")


@ramp_app.command("import-history")
def ramp_import_history(
    file: Annotated[Path, typer.Argument(help="CSV file with the header `period,quantity`.")],
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Load cars completed per month or week before linespeed, as the ramp's history.

    Periods are months (2024-03) or ISO weeks (2024-W10); they come before the store's own
    points and create no cars (the plant file's cars_before shifts car numbers). Each import
    replaces the history stored before.

    Example: linespeed ramp import-history history.csv
    """
    from linespeed.errors import FileProblem
    from linespeed.ramp.history import HistoryFileError, import_history

    try:
        data = file.read_bytes()
    except OSError as error:
        raise HistoryFileError(
            [FileProblem(str(file), None, "", error.strerror or "cannot be read")]
        ) from None
    with store(db, plant) as engine:
        result = import_history(engine, data, str(file))
    if json_output:
        print_json(
            {
                "source": result.source,
                "periods": result.periods,
                "quantity": result.quantity,
                "first_day": result.first_day.isoformat(),
                "last_day": result.last_day.isoformat(),
                "cars_before": result.cars_before,
            }
        )
        return
    out.print(
        f"{file}: {result.periods} periods, {result.quantity:,} cars from "
        f"{result.first_day} to {result.last_day} stored as the ramp's history"
    )
    if result.quantity < result.cars_before:
        out.print(
            f"note: the plant's cars_before is {result.cars_before:,}: "
            f"{result.cars_before - result.quantity:,} cars before the store are not in the history"
        )
