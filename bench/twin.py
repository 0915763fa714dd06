"""Twin benchmark: a twin calibrated from a store alone, against the simulator's own full run.

For each window (default: days 0 to 60, and days 100 to 160):

1. simulate the bundled scenario (or SCENARIO) with full station detail from start of
   production to the window's end into a new SQLite store, with the scenario's plan stored
   `--plan-days` ahead (a plant knows its plan);
2. calibrate a twin from that store alone, from the window's first day to its end
   (`linespeed.twin.calibrate`, as `linespeed twin calibrate --since --until`);
3. forecast each target car (default 100,000 and 300,000) with `whatif` on the twin, R runs
   (default 30);
4. compare with the truth: when the simulator's own full run of the same seed completes
   that car.

Goal per target and window: P50 within 7 days of the truth, and P10-P90 holding it. It
prints its figures and the goal's verdicts; it never asserts.

Run:
    .venv/bin/python bench/twin.py
    .venv/bin/python bench/twin.py --windows 0:30 --targets 20000 --runs 10 --json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from linespeed.ingest.core import Ingestor
from linespeed.ingest.lines import ingest_lines
from linespeed.sim.emit import event_lines
from linespeed.sim.production_plan import scenario_plan
from linespeed.sim.run import completion_time, simulate
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, LoadedScenario, load_scenario
from linespeed.sim.whatif import whatif
from linespeed.store.engine import connect, migrate
from linespeed.store.plants import save_plant
from linespeed.store.settings import init_simulation
from linespeed.supply.plan import import_plan
from linespeed.supply.plan_file import plan_csv
from linespeed.twin.calibrate import calibrate

GOAL_DAYS = 7.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("scenario", nargs="?", type=Path, default=DEFAULT_SCENARIO_PATH)
    parser.add_argument(
        "--windows", nargs="+", default=["0:60", "100:160"], help="FIRST:LAST days since SOP"
    )
    parser.add_argument("--targets", nargs="+", type=int, default=[100_000, 300_000])
    parser.add_argument("--runs", type=int, default=30, help="whatif runs per forecast")
    parser.add_argument("--plan-days", type=int, default=700, help="days of plan stored")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser.parse_args(argv)


def make_store(loaded: LoadedScenario, folder: Path, days: int, plan_days: int) -> str:
    """A simulation store of the scenario's first `days` days, its plan stored ahead; its URL."""
    url = f"sqlite:///{folder / f'days-{days}.db'}"
    engine = connect(url)
    try:
        migrate(engine)
        init_simulation(engine, simulation=True)
        save_plant(engine, loaded.plant, "bench")
        run = simulate(loaded, days=days)
        ingest_lines(Ingestor(engine), event_lines(run), "sim:bench")
        last = loaded.scenario.start_of_production + timedelta(days=plan_days)
        import_plan(engine, plan_csv(scenario_plan(loaded, last)).encode(), "bench plan")
    finally:
        engine.dispose()
    return url


def main(argv: list[str] | None = None) -> None:
    """Measure and print."""
    args = parse_args(argv)
    loaded = load_scenario(args.scenario)
    truth_run = simulate(loaded, until_units=max(args.targets))
    truth = {n: truth_run.calendar.at(completion_time(truth_run, n)) for n in args.targets}
    start = truth_run.calendar.start_at
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="linespeed-bench-twin-") as folder:
        for window in args.windows:
            first, last = (int(part) for part in window.split(":"))
            started = time.perf_counter()
            url = make_store(loaded, Path(folder), last, args.plan_days)
            store_s = time.perf_counter() - started
            started = time.perf_counter()
            engine = connect(url)
            try:
                fitted = calibrate(
                    engine,
                    since=start + timedelta(days=first),
                    until=start + timedelta(days=last),
                )
            finally:
                engine.dispose()
            twin = fitted.loaded()
            calibrate_s = time.perf_counter() - started
            for target in args.targets:
                started = time.perf_counter()
                answer = whatif(twin, until_units=target, runs=args.runs)
                whatif_s = time.perf_counter() - started
                results.append(
                    _row(window, target, answer.p10, answer.p50, answer.p90, truth[target])
                    | {
                        "store_s": round(store_s, 1),
                        "calibrate_s": round(calibrate_s, 1),
                        "whatif_s": round(whatif_s, 1),
                        "cars_completed_at_window_end": fitted.history.completed_before_end,
                    }
                )
    if args.json:
        print(json.dumps({"runs": args.runs, "goal_days": GOAL_DAYS, "results": results}, indent=2))
        return
    for row in results:
        print(
            f"days {row['window']}, car {row['target']:,}: truth {row['truth']}; twin P50 "
            f"{row['p50']} ({row['p50_error_days']:+.2f} d), P10-P90 {row['p10']} to "
            f"{row['p90']}; P50 within {GOAL_DAYS:.0f} d: {row['p50_within_goal']}, band holds "
            f"truth: {row['band_holds_truth']} (store {row['store_s']} s, calibrate "
            f"{row['calibrate_s']} s, whatif {row['whatif_s']} s)"
        )


def _row(
    window: str, target: int, p10: object, p50: object, p90: object, truth: datetime
) -> dict[str, Any]:
    assert isinstance(p10, datetime) and isinstance(p50, datetime) and isinstance(p90, datetime)
    error = (p50 - truth).total_seconds() / 86_400.0
    return {
        "window": window,
        "target": target,
        "truth": truth.isoformat(timespec="seconds"),
        "p10": p10.isoformat(timespec="seconds"),
        "p50": p50.isoformat(timespec="seconds"),
        "p90": p90.isoformat(timespec="seconds"),
        "p50_error_days": round(error, 2),
        "p50_within_goal": abs(error) <= GOAL_DAYS,
        "band_holds_truth": p10 <= truth <= p90,
    }


if __name__ == "__main__":
    main()
