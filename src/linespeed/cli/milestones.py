"""`linespeed milestones` and `milestones plan N`: the milestone cars."""

from __future__ import annotations

from typing import Annotated

import typer

from linespeed.cli.common import (
    DbOption,
    JsonOption,
    PlantOption,
    app,
    out,
    plant_zone,
    plural,
    print_json,
    store,
    time_text,
)

milestones_app = typer.Typer(
    help="Milestone cars reached so far: `linespeed milestones [--json]`; `milestones plan N`.",
    invoke_without_command=True,
)
app.add_typer(milestones_app, name="milestones")


@milestones_app.callback()
def milestones(
    ctx: typer.Context,
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Milestones reached so far: number, VIN, completion time, days since start of production.

    Example: linespeed milestones --json
    """
    ctx.obj = {"db": db, "plant": plant, "json": json_output}
    if ctx.invoked_subcommand is not None:
        return
    from linespeed.ramp.milestones import milestones_reached

    with store(db, plant) as engine:
        report = milestones_reached(engine)
    if json_output:
        print_json(report)
        return
    out.print(
        f"{plural(report.completed, 'car')} completed; next milestone: {report.next_milestone}"
    )
    for car in report.reached:
        planned = (
            ""
            if car.was_planned is None
            else ("; the planned car" if car.was_planned else f"; planned {car.planned_vin}")
        )
        out.print(
            f"#{car.number:>7} {car.vin} {car.model} {car.color} "
            f"completed {time_text(car.completed_at, report.timezone)}, "
            f"day {car.days_since_sop:.0f} after SOP{planned}"
        )


@milestones_app.command("plan")
def milestones_plan(
    ctx: typer.Context,
    number: Annotated[int, typer.Argument(help="The milestone: the Nth completed car.")],
    record: Annotated[
        bool, typer.Option("--record", help="Store the best candidate as the car to paint.")
    ] = False,
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Which car will be the Nth completed car, so it can be built in the milestone colour.

    Example: linespeed milestones plan 300000 --record
    """
    from linespeed.ramp.milestones import plan_milestone

    with store(db or ctx.obj["db"], plant or ctx.obj["plant"]) as engine:
        plan = plan_milestone(engine, number, record=record)
        zone = plant_zone(engine)
    if json_output or ctx.obj["json"]:
        print_json(plan)
        return
    if plan.reached is not None:
        out.print(
            f"car {number} was completed: {plan.reached.vin} "
            f"at {time_text(plan.reached.completed_at, zone)}"
        )
        return
    out.print(
        f"car {number}: {plan.completed} completed, {plan.in_production} on the line, "
        f"scrap rate {plan.scrap_rate:.4%}"
    )
    if plan.best is not None:
        best = plan.best
        out.print(
            f"build start #{best.start_seq} ({best.vin or 'not started yet'}) "
            f"in the milestone colour: probability {best.probability:.1%}; {plan.note}"
        )
