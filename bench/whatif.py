"""What-if benchmark: many engine-only runs against `simulate --out /dev/null`, same process.

It measures, on the bundled scenario (or SCENARIO):

(a) whatif: `linespeed.sim.whatif.whatif` to car N (default 300,000) with R runs (default
    30) on all cores, wall-clock, after a warm-up run (numba loads its disk cache);
    goal <= 30 s on a 2-core machine;
(b) per run, side by side on a smaller target (default car 20,000): one whatif run in this
    process (`workers=1`) against the baseline, `simulate --out /dev/null` (the same
    simulation, every event emitted and written to /dev/null, as the command does);
    goal: whatif >= 100x faster per run.

It only prints figures and ratios (and the machine's load average before and after, as
other work skews them); it never asserts timings.

Run:
    .venv/bin/python bench/whatif.py
    .venv/bin/python bench/whatif.py --units 50000 --runs 8 --small 5000 --json
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from linespeed.sim.emit import event_lines, write_lines
from linespeed.sim.run import simulate
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, load_scenario
from linespeed.sim.whatif import whatif

GOAL_SECONDS = 30.0
GOAL_RATIO = 100.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("scenario", nargs="?", type=Path, default=DEFAULT_SCENARIO_PATH)
    parser.add_argument("--units", type=int, default=300_000, help="whatif target car")
    parser.add_argument("--runs", type=int, default=30, help="whatif runs (default 30)")
    parser.add_argument("--small", type=int, default=20_000, help="side-by-side target car")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser.parse_args(argv)


def _load() -> float | None:
    """The machine's load average over the last minute (other work skews the figures)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def main(argv: list[str] | None = None) -> None:
    """Measure and print."""
    args = parse_args(argv)
    load_before = _load()
    loaded = load_scenario(args.scenario)
    whatif(loaded, until_units=1000, runs=1, workers=1)  # warm-up: numba's cache
    started = time.perf_counter()
    answer = whatif(loaded, until_units=args.units, runs=args.runs)
    whatif_s = time.perf_counter() - started

    started = time.perf_counter()
    whatif(loaded, until_units=args.small, runs=1, workers=1)
    one_run_s = time.perf_counter() - started
    started = time.perf_counter()
    run = simulate(loaded, until_units=args.small)
    write_lines(event_lines(run), Path(os.devnull))
    simulate_s = time.perf_counter() - started

    figures = {
        "scenario": str(args.scenario),
        "cores": os.cpu_count(),
        "whatif_units": args.units,
        "whatif_runs": args.runs,
        "whatif_s": round(whatif_s, 2),
        "whatif_goal_s": GOAL_SECONDS,
        "p50": answer.as_dict()["p50"],
        "small_units": args.small,
        "whatif_one_run_s": round(one_run_s, 3),
        "simulate_devnull_s": round(simulate_s, 3),
        "per_run_ratio": round(simulate_s / one_run_s, 1),
        "ratio_goal": GOAL_RATIO,
        "load_1min_before_after": [load_before, _load()],
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(
        f"whatif to car {args.units:,}, {args.runs} runs on {figures['cores']} cores: "
        f"{whatif_s:.1f} s (goal <= {GOAL_SECONDS:.0f} s); P50 {figures['p50']}"
    )
    print(
        f"car {args.small:,}, one run: whatif {one_run_s:.3f} s, simulate --out /dev/null "
        f"{simulate_s:.2f} s: whatif {simulate_s / one_run_s:.0f}x faster "
        f"(goal >= {GOAL_RATIO:.0f}x)"
    )
    print(f"load average (1 min) before and after: {figures['load_1min_before_after']}")


if __name__ == "__main__":
    main()
