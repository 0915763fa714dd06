"""Simulator benchmark with parts supply: the bundled scenario against itself without supply.

It runs, in the same process, the whole simulation of the bundled scenario to N cars
(`linespeed.sim.run.simulate`: calendar, sampling, supply planning, the engine) twice:

(a) baseline: the scenario with its `supply:` section removed (every part on hand when
    needed, no supply planning beyond the default);
(b) linespeed: the bundled scenario as shipped (battery packs short in its first months:
    the engine's start times wait for parts at `ga-140`).

and then the engine alone (`linespeed.sim.engine.line_times`) on (b)'s sampled times, with
and without its part-ready times. Each figure is the best of R runs after a warm-up run; it
prints seconds and the ratio (b) / (a) (goal <= 1.2: supply costs the engine little). It
only prints figures; it never asserts timings.

Run:
    .venv/bin/python bench/supply.py                    # 300,000 cars, best of 3
    .venv/bin/python bench/supply.py --units 50000 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from linespeed.sim.engine import line_times
from linespeed.sim.run import SimRun, simulate
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, LoadedScenario, Supply, load_scenario

GOAL_RATIO = 1.2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=300_000, help="cars completed (300,000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs, best kept")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser.parse_args(argv)


def best_of(repeat: int, work: Callable[[], object]) -> float:
    """The shortest of `repeat` timed calls of `work`, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def without_supply(loaded: LoadedScenario) -> LoadedScenario:
    """The scenario with an empty `supply:` section."""
    scenario = loaded.scenario.model_copy(update={"supply": Supply()})
    return LoadedScenario(scenario=scenario, plant=loaded.plant, source=loaded.source)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    args = parse_args(argv)
    loaded = load_scenario(DEFAULT_SCENARIO_PATH)
    baseline = without_supply(loaded)
    simulate(loaded, until_units=500)  # numba compiles, or loads its cache
    simulate_base_s = best_of(args.repeat, lambda: simulate(baseline, until_units=args.units))
    simulate_s = best_of(args.repeat, lambda: simulate(loaded, until_units=args.units))
    run: SimRun = simulate(loaded, until_units=args.units)
    buffers = np.array([station.buffer for station in run.line.stations], dtype=np.int64)
    down = run.downtime.down_intervals()
    plan = run.plan
    engine_base_s = best_of(
        args.repeat, lambda: line_times(plan.process_s, buffers, plan.release_s, down)
    )
    engine_s = best_of(
        args.repeat,
        lambda: line_times(plan.process_s, buffers, plan.release_s, down, run.supply.ready_s),
    )
    figures: dict[str, Any] = {
        "units": args.units,
        "cars": run.cars,
        "stations": len(buffers),
        "stations_waiting_for_parts": [run.line.stations[i].id for i in sorted(run.supply.ready_s)],
        "simulate_without_supply_s": simulate_base_s,
        "simulate_s": simulate_s,
        "simulate_ratio": simulate_s / simulate_base_s,
        "engine_without_parts_s": engine_base_s,
        "engine_s": engine_s,
        "engine_ratio": engine_s / engine_base_s,
        "goal_ratio": GOAL_RATIO,
        "day_of_last_unit": run.until_s / 86_400.0,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(
            f"bundled scenario to car {args.units:,}: {run.cars:,} cars x {len(buffers)} "
            f"stations; waiting for parts at {', '.join(figures['stations_waiting_for_parts'])}"
        )
        print(
            f"simulate: {simulate_s:.3f} s with supply, {simulate_base_s:.3f} s without: "
            f"ratio {figures['simulate_ratio']:.2f} (goal <= {GOAL_RATIO:g})"
        )
        print(
            f"engine (line_times): {engine_s:.3f} s with part-ready times, {engine_base_s:.3f} s "
            f"without: ratio {figures['engine_ratio']:.2f}"
        )
        print(f"car {args.units:,} completes on day {figures['day_of_last_unit']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
