"""`linespeed whatif`: the line engine over many seeds; when is car N, with its spread."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from linespeed.cli.common import JsonOption, app, flag_names, out, print_json, time_text
from linespeed.cli.errors import CliUsageError

if TYPE_CHECKING:
    from linespeed.sim.whatif import WhatIf

_TOP_STATIONS = 3


def _day(text: str | None) -> date | None:
    """--until as a date. Raises CliUsageError if it is not YYYY-MM-DD."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CliUsageError(
            f"--until must be a date (YYYY-MM-DD), got {text!r}", parameter="--until", value=text
        ) from None


def _percentile(value: datetime | int, zone: str) -> str:
    return time_text(value, zone) if isinstance(value, datetime) else f"{value:,} cars"


def _print(label: str, answer: WhatIf, zone: str) -> None:
    out.print(f"{label}{answer.target}, {len(answer.runs)} runs:")
    out.print(f"  P10 {_percentile(answer.p10, zone)}")
    out.print(f"  P50 {_percentile(answer.p50, zone)}")
    out.print(f"  P90 {_percentile(answer.p90, zone)}")
    out.print(f"  cars per week: {answer.cars_per_week:,.0f} (P50, start of production to the end)")
    shares = list(answer.bottleneck_share.items())[:_TOP_STATIONS]
    out.print(
        "  bottleneck: "
        + (", ".join(f"{station} {share:.0%}" for station, share in shares) or "none")
    )
    shortages = ", ".join(f"{part} {hours:,.0f} h" for part, hours in answer.shortage_hours.items())
    out.print(f"  shortage hours: {shortages or 'none'}")


@app.command()
@flag_names({"until_units": "--until-units", "until": "--until", "runs": "--runs", "set": "--set"})
def whatif(
    scenario: Annotated[
        Path | None, typer.Argument(help="Scenario file (default: the bundled scenario).")
    ] = None,
    until_units: Annotated[
        int | None, typer.Option("--until-units", help="When is car N completed?")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="How many cars are completed by DATE?")
    ] = None,
    runs: Annotated[int, typer.Option("--runs", help="Replications (1 to 10,000).")] = 30,
    set_values: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="PATH=VALUE: change one value of the scenario (docs/scenario.md); repeatable.",
        ),
    ] = None,
    compare_with: Annotated[
        Path | None,
        typer.Option(
            "--compare", help="Another scenario, run with the same seeds: the difference in days."
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of the runs' seeds (default: scenario's).")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Run the line engine alone (no events) over many seeds: P10/P50/P90 of the answer.

    With --until-units N: when car N is completed; with --until DATE: how many cars are
    completed by then. Also cars per week, each station's share of time as the bottleneck
    and the hours stations waited for each part. --set changes the scenario (the base
    scenario only when --compare is given).

    Example: linespeed whatif --until-units 300000 --set failures.stations.ga-140.mtbf_h=50
    """
    # imported here: the engine's compiler loads slowly, and only the simulator needs it
    from linespeed.sim.overrides import parse_override
    from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, load_scenario
    from linespeed.sim.whatif import compare, whatif

    day = _day(until)
    overrides = [parse_override(text) for text in set_values or []]
    loaded = load_scenario(scenario or DEFAULT_SCENARIO_PATH, overrides)
    zone = loaded.plant.timezone
    if compare_with is None:
        answer = whatif(loaded, until_units=until_units, until=day, runs=runs, seed=seed)
        if json_output:
            print_json(answer.as_dict())
        else:
            _print("", answer, zone)
        return
    other = load_scenario(compare_with)
    both = compare(loaded, other, until_units=until_units, until=day, runs=runs, seed=seed)
    if json_output:
        print_json(both.as_dict())
        return
    _print("base: ", both.base, zone)
    _print(f"other ({compare_with}): ", both.other, zone)
    unit = "days" if until_units is not None else "cars"
    difference = both.difference_days
    out.print(
        f"other - base, per run: P10 {difference['p10']:+.2f} {unit}, "
        f"P50 {difference['p50']:+.2f} {unit}, P90 {difference['p90']:+.2f} {unit}"
    )
