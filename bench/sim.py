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
operations per second and their ratio (goal >= 100x). It only prints figures; it never
asserts timings. It exits 1 if the departures differ.

Run:
    .venv/bin/python bench/sim.py                       # 300,000 cars x 40 stations, K = 5,000
    .venv/bin/python bench/sim.py --cars 20000 --simpy-cars 500 --json
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
from typing import Any

import numpy as np
import simpy
from numpy.typing import NDArray

from linespeed.sim.engine import departures

GOAL_RATIO = 100.0
MEAN_S = 60.0
CV = 0.15
COLD_COMPILE = """
import time
started = time.perf_counter()
import numpy as np
from linespeed.sim.engine import departures
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


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 if the engine equals SimPy on the slice, else 1."""
    args = parse_args(argv)
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
    figures = {
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
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print_report(figures)
    return 0 if identical else 1


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
