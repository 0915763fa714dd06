"""Line engine benchmark: `departures` against a SimPy model of the same line, same times.

It samples processing times for N cars x M stations (lognormal, mean 60 s, CV 0.15, from
`numpy.random.default_rng(seed)`) and buffers of 0-3 places, then measures in the same run:

(a) SimPy baseline: the reference model (one process per station, a `Container` of b_i + 1
    places downstream of station i; the same model as in tests/sim/test_engine.py) on the
    first K cars only; its rate is scaled to the full run, and the output says so;
(b) linespeed: `linespeed.sim.engine.departures` on all N cars, best of R runs, after a
    warm-up call on a tiny line (numba compiles, or loads its on-disk cache); a fresh
    subprocess with an empty numba cache gives the cold compile time as well.

It checks that (b) equals (a) exactly on the K cars and prints both rates in car-station
operations per second and their ratio (goal >= 100x).

Then the event stream, as `linespeed simulate --until-units C --out FILE` makes it (the
bundled scenario, full detail, C cars completed), against a baseline in the same run:

(c) baseline: the same number of lines, of the stream's average length, already made,
    written to a file the way the stream is (joined in chunks of 20,000);
(d) linespeed: `simulate` (plan and engine), then `event_lines` counted and written by
    `write_lines` to a file; events per second of (d) as a whole (goal >= 300,000), wall
    clock and CPU time of this process (the machine may be shared), and their ratio to (c).

It only prints figures; it never asserts timings. It exits 1 if the departures differ.

Run:
    .venv/bin/python bench/sim.py                       # 300,000 cars x 40 stations, K = 5,000
    .venv/bin/python bench/sim.py --cars 20000 --simpy-cars 500 --json
    .venv/bin/python bench/sim.py --no-engine --stream-cars 20000   # the stream only
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
import simpy
from numpy.typing import NDArray

from linespeed.sim.emit import StreamCounts, counted, event_lines, write_lines
from linespeed.sim.engine import departures
from linespeed.sim.run import simulate
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, load_scenario

GOAL_RATIO = 100.0
GOAL_EVENTS_PER_S = 300_000.0
MEAN_S = 60.0
CV = 0.15
COLD_COMPILE = """
import time
started = time.perf_counter()
import numpy as np
from linespeed.sim.emit import StreamCounts, counted, event_lines, write_lines
from linespeed.sim.engine import departures
from linespeed.sim.run import simulate
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, load_scenario
imported = time.perf_counter()
departures(np.ones((3, 2)), [1, 0])
print(imported - started, time.perf_counter() - imported)
"""

Floats = NDArray[np.float64]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cars", type=int, default=300_000, help="cars (default 300,000)")
    parser.add_argument("--stations", type=int, default=40, help="stations (default 40)")
    parser.add_argument(
        "--simpy-cars", type=int, default=5_000, help="first cars run through SimPy (default 5,000)"
    )
    parser.add_argument("--seed", type=int, default=20250630, help="sampling seed")
    parser.add_argument("--repeat", type=int, default=3, help="timed engine runs, best kept")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold-compile subprocess")
    parser.add_argument(
        "--stream-cars",
        type=int,
        default=20_000,
        help="cars completed in the event stream benchmark (default 20,000; 0: skip it)",
    )
    parser.add_argument("--no-engine", action="store_true", help="skip the engine benchmark")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser.parse_args(argv)


def sample_line(cars: int, stations: int, seed: int) -> tuple[Floats, NDArray[np.int64]]:
    """Lognormal processing times (mean 60 s, CV 0.15) and buffers of 0-3 places."""
    rng = np.random.default_rng(seed)
    sigma = np.sqrt(np.log1p(CV**2))
    process_s = rng.lognormal(np.log(MEAN_S) - sigma**2 / 2, sigma, size=(cars, stations))
    return process_s, rng.integers(0, 4, size=stations)


def simpy_departures(
    process_s: Floats, buffers: NDArray[np.int64], release_s: Floats | None = None
) -> Floats:
    """Departure times of the line simulated by SimPy (same model as the tests' reference).

    Cars wait for station i in a FIFO store; `places[i]` holds the b_i + 1 places in
    {buffer i, station i+1}: a car takes one before it leaves station i and gives it back
    when it leaves station i+1. Car j is released by `yield env.timeout(r_j)` from t=0.
    """
    n_cars, n_stations = process_s.shape
    env = simpy.Environment()
    waiting = [simpy.Store(env) for _ in range(n_stations)]
    places = [
        simpy.Container(env, capacity=int(buffers[i]) + 1, init=int(buffers[i]) + 1)
        for i in range(n_stations - 1)
    ]
    depart_s = np.full((n_cars, n_stations), np.nan)

    def release(car: int, at_s: float) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(at_s)
        yield waiting[0].put(car)

    def station(i: int) -> Generator[simpy.Event, Any, None]:
        for _ in range(n_cars):
            car = yield waiting[i].get()
            yield env.timeout(process_s[car, i])
            if i < n_stations - 1:
                yield places[i].get(1)
            if i > 0:
                yield places[i - 1].put(1)
            depart_s[car, i] = env.now
            if i < n_stations - 1:
                yield waiting[i + 1].put(car)

    for car in range(n_cars):
        env.process(release(car, 0.0 if release_s is None else float(release_s[car])))
    for i in range(n_stations):
        env.process(station(i))
    env.run()
    return depart_s


def cold_compile_s() -> tuple[float, float]:
    """(import, first call) seconds in a fresh process with an empty numba cache."""
    with tempfile.TemporaryDirectory() as cache_dir:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
        result = subprocess.run(
            [sys.executable, "-c", COLD_COMPILE],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    import_s, call_s = (float(word) for word in result.stdout.split())
    return import_s, call_s


def stream_figures(cars: int, directory: Path) -> dict[str, Any]:
    """Events per second of the full-detail stream of `cars` cars to a file, and of the
    baseline: as many ready-made lines of the same average length, written alike."""
    loaded = load_scenario(DEFAULT_SCENARIO_PATH)
    simulate(loaded, days=1)  # numba loads its cache; the scenario's tables are built
    path = directory / "stream.jsonl"
    started, started_cpu = time.perf_counter(), time.process_time()
    run = simulate(loaded, until_units=cars)
    simulated_s = time.perf_counter() - started
    counts = StreamCounts()
    write_lines(counted(event_lines(run), counts), path)
    stream_s, stream_cpu_s = time.perf_counter() - started, time.process_time() - started_cpu
    size = path.stat().st_size
    path.unlink()
    average = size // max(counts.events, 1) - 1  # without its newline
    line = b'{"kind":"' + b"x" * max(average - 10, 0) + b'"}'
    lines = [bytes(line) for _ in range(counts.events)]
    started, started_cpu = time.perf_counter(), time.process_time()
    write_lines(iter(lines), path)
    baseline_s, baseline_cpu_s = time.perf_counter() - started, time.process_time() - started_cpu
    path.unlink()
    return {
        "stream_cars": cars,
        "stream_events": counts.events,
        "stream_bytes": size,
        "stream_simulate_s": simulated_s,
        "stream_s": stream_s,
        "stream_cpu_s": stream_cpu_s,
        "stream_events_per_s": counts.events / stream_s,
        "stream_events_per_cpu_s": counts.events / stream_cpu_s,
        "baseline_s": baseline_s,
        "baseline_events_per_s": counts.events / baseline_s,
        "baseline_events_per_cpu_s": counts.events / max(baseline_cpu_s, 1e-9),
        "stream_ratio": baseline_s / stream_s,
        "goal_events_per_s": GOAL_EVENTS_PER_S,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 if the engine equals SimPy on the slice, else 1."""
    args = parse_args(argv)
    figures: dict[str, Any] = {}
    identical = True
    if not args.no_engine:
        figures = engine_figures(args)
        identical = figures["identical_on_slice"]
    if args.stream_cars > 0:
        with tempfile.TemporaryDirectory() as directory:
            figures.update(stream_figures(args.stream_cars, Path(directory)))
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        if not args.no_engine:
            print_report(figures)
        if args.stream_cars > 0:
            print_stream_report(figures)
    return 0 if identical else 1


def engine_figures(args: argparse.Namespace) -> dict[str, Any]:
    """The engine against SimPy (see the module's docstring)."""
    process_s, buffers = sample_line(args.cars, args.stations, args.seed)
    simpy_cars = min(args.simpy_cars, args.cars)

    started = time.perf_counter()
    departures(np.ones((3, 2)), [1, 0])
    warmup_s = time.perf_counter() - started
    cold = None if args.no_cold else cold_compile_s()

    engine_s = float("inf")
    for _ in range(args.repeat):
        started = time.perf_counter()
        depart_s = departures(process_s, buffers)
        engine_s = min(engine_s, time.perf_counter() - started)

    started = time.perf_counter()
    reference_s = simpy_departures(process_s[:simpy_cars], buffers)
    simpy_s = time.perf_counter() - started
    identical = bool(
        np.array_equal(depart_s[:simpy_cars], reference_s)
        and np.array_equal(departures(process_s[:simpy_cars], buffers), reference_s)
    )

    operations = args.cars * args.stations
    simpy_operations = simpy_cars * args.stations
    engine_rate = operations / engine_s
    simpy_rate = simpy_operations / simpy_s
    return {
        "cars": args.cars,
        "stations": args.stations,
        "buffers": buffers.tolist(),
        "seed": args.seed,
        "engine_s": engine_s,
        "engine_ops_per_s": engine_rate,
        "warmup_s": warmup_s,
        "cold_import_s": None if cold is None else cold[0],
        "cold_compile_s": None if cold is None else cold[1],
        "simpy_cars": simpy_cars,
        "simpy_s": simpy_s,
        "simpy_ops_per_s": simpy_rate,
        "simpy_scaled_s": operations / simpy_rate,
        "ratio": engine_rate / simpy_rate,
        "goal_ratio": GOAL_RATIO,
        "identical_on_slice": identical,
        "makespan_s": float(depart_s[-1, -1]),
    }


def print_stream_report(figures: dict[str, Any]) -> None:
    """The event stream's figures for people."""
    events = figures["stream_events"]
    print(
        f"event stream (simulate --until-units {figures['stream_cars']:,} --out FILE, full "
        f"detail): {events:,} events, {figures['stream_bytes'] / max(events, 1):.0f} B each"
    )
    print(
        f"  baseline, as many ready-made lines written: {figures['baseline_s']:.2f} s = "
        f"{figures['baseline_events_per_s'] / 1e3:,.0f} k events/s"
    )
    print(
        f"  linespeed, simulate + events + write: {figures['stream_s']:.2f} s (simulate "
        f"{figures['stream_simulate_s']:.2f} s) = {figures['stream_events_per_s'] / 1e3:,.0f}"
        f" k events/s; CPU {figures['stream_cpu_s']:.2f} s = "
        f"{figures['stream_events_per_cpu_s'] / 1e3:,.0f} k events per CPU second "
        f"(goal >= {GOAL_EVENTS_PER_S / 1e3:,.0f} k events/s)"
    )
    print(f"  ratio linespeed / baseline: {figures['stream_ratio']:.2f}")


def print_report(figures: dict[str, Any]) -> None:
    """The figures for people."""
    cars, stations, simpy_cars = figures["cars"], figures["stations"], figures["simpy_cars"]
    print(
        f"line: {cars:,} cars x {stations} stations, lognormal times mean {MEAN_S:g} s "
        f"CV {CV:g}, buffers {figures['buffers']}, seed {figures['seed']}"
    )
    if figures["cold_compile_s"] is not None:
        print(
            f"cold start (fresh process, empty numba cache): import {figures['cold_import_s']:.2f}"
            f" s, compile {figures['cold_compile_s']:.2f} s"
        )
    print(f"warm-up call in this process (numba cache): {figures['warmup_s']:.3f} s")
    print(
        f"departures: {cars * stations:,} car-station operations in {figures['engine_s']:.3f} s"
        f" (best of runs) = {figures['engine_ops_per_s'] / 1e6:,.1f} M ops/s"
    )
    print(
        f"SimPy: first {simpy_cars:,} cars only = {simpy_cars * stations:,} ops in "
        f"{figures['simpy_s']:.2f} s = {figures['simpy_ops_per_s'] / 1e3:,.1f} k ops/s; "
        f"scaled to {cars:,} cars: {figures['simpy_scaled_s']:,.0f} s (estimate, not run)"
    )
    verdict = "identical" if figures["identical_on_slice"] else "DIFFERENT"
    print(f"departures on the first {simpy_cars:,} cars vs SimPy: {verdict} (np.array_equal)")
    print(f"ratio departures / SimPy: {figures['ratio']:,.0f}x (goal >= {GOAL_RATIO:g}x)")


if __name__ == "__main__":
    sys.exit(main())
