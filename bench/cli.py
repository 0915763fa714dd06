"""CLI start-up benchmark: how long `linespeed` commands take, each in a fresh process.

It times, in subprocesses, the median of R runs of:

(a) baselines: `python -c pass` (interpreter start-up; the machine's noise) and
    `python -c "import sqlalchemy"` (the least a command that reads the store imports);
(b) commands that need no store: `linespeed --help`, `linespeed vin check VIN` (a valid VIN
    of the bundled plant) and `linespeed plant check` on the bundled plant file;
(c) commands that read a small store it creates first (`init --simulation`, then
    `simulate --until-units N --into-db`, default 200 cars): `linespeed unit VIN` and
    `linespeed trace vin VIN`.

It prints a table `command | goal | median ms | cpu ms | over baseline ms | ok` (goals:
150 ms without a store, 300 ms with one; `ok` compares the median wall time) and the same
figures relative to `python -c pass`. CPU time (user + system of the process) is shown
beside wall time because it moves less when other work shares the machine. It only prints
figures; it never asserts timings.

Run:
    .venv/bin/python bench/cli.py                    # 7 runs each, a 200-car store
    .venv/bin/python bench/cli.py --runs 15 --json
    .venv/bin/python bench/cli.py --store /tmp/ls-cli.db   # build once, reuse afterwards
    git archive b9ccf94 src | tar -x -C /tmp/before      # the same, before this change:
    .venv/bin/python bench/cli.py --store /tmp/ls-cli.db --pythonpath /tmp/before/src
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import linespeed

PYTHON = sys.executable
LINESPEED = str(Path(sys.executable).parent / "linespeed")
PLANT_FILE = str(Path(linespeed.__file__).parent / "plant" / "default.yaml")
GOAL_NO_STORE_MS = 150.0
GOAL_STORE_MS = 300.0


@dataclass(frozen=True)
class Timing:
    """One command's median wall and CPU time over the runs, and its goal (None: a baseline)."""

    command: str
    goal_ms: float | None
    median_ms: float
    cpu_ms: float
    over_baseline_ms: float
    ratio_to_baseline: float

    @property
    def ok(self) -> bool | None:
        """Whether the median meets the goal; None for a baseline."""
        return None if self.goal_ms is None else self.median_ms <= self.goal_ms


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per command (default 7)")
    parser.add_argument("--cars", type=int, default=200, help="cars in the store (default 200)")
    parser.add_argument(
        "--store", type=Path, help="SQLite file of the store: built if absent, then reused"
    )
    parser.add_argument(
        "--pythonpath",
        type=Path,
        help="source tree put first on the commands' path (an older checkout: a before figure)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    return parser.parse_args(argv)


def median_ms(argv: list[str], runs: int, env: dict[str, str]) -> tuple[float, float]:
    """The median wall time and CPU time (user + system) of `argv` over `runs` runs, each in
    a new process, in ms. CPU time varies less than wall time on a busy machine.

    Raises RuntimeError if the command fails (exit code other than 0).
    """
    times: list[float] = []
    cpu_times: list[float] = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        finished = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
        times.append((time.perf_counter() - started) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_s = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        cpu_times.append(cpu_s * 1000)
        if finished.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {finished.stderr or finished.stdout}")
    return statistics.median(times), statistics.median(cpu_times)


def build_store(path: Path, cars: int) -> str:
    """A simulation store of `cars` cars at `path` (kept if it exists); its URL."""
    url = f"sqlite:///{path}"
    if not path.exists():
        subprocess.run([LINESPEED, "init", "--simulation", "--db", url], check=True)
        subprocess.run(
            [LINESPEED, "simulate", "--until-units", str(cars), "--into-db", "--db", url],
            check=True,
            capture_output=True,
        )
    return url


def some_vin(path: Path) -> str:
    """A completed car's VIN from the store's SQLite file (the middle one by start)."""
    with sqlite3.connect(path) as connection:
        count = connection.execute("SELECT count(*) FROM units").fetchone()[0]
        row = connection.execute(
            "SELECT vin FROM units ORDER BY start_seq LIMIT 1 OFFSET ?", (count // 2,)
        ).fetchone()
    return str(row[0])


def measure(args: argparse.Namespace, store_path: Path) -> list[Timing]:
    """Every command's timing, baselines first."""
    url = build_store(store_path, args.cars)
    vin = some_vin(store_path)
    commands: list[tuple[str, float | None, list[str]]] = [
        ("python -c pass", None, [PYTHON, "-c", "pass"]),
        ("python -c 'import sqlalchemy'", None, [PYTHON, "-c", "import sqlalchemy"]),
        ("linespeed --help", GOAL_NO_STORE_MS, [LINESPEED, "--help"]),
        ("linespeed vin check VIN", GOAL_NO_STORE_MS, [LINESPEED, "vin", "check", vin]),
        ("linespeed plant check FILE", GOAL_NO_STORE_MS, [LINESPEED, "plant", "check", PLANT_FILE]),
        ("linespeed unit VIN", GOAL_STORE_MS, [LINESPEED, "unit", vin, "--db", url]),
        ("linespeed trace vin VIN", GOAL_STORE_MS, [LINESPEED, "trace", "vin", vin, "--db", url]),
    ]
    env = dict(os.environ)
    if args.pythonpath is not None:
        env["PYTHONPATH"] = str(args.pythonpath)
    medians = [(name, goal, *median_ms(argv, args.runs, env)) for name, goal, argv in commands]
    baseline = medians[0][2]
    return [
        Timing(name, goal, median, cpu, median - baseline, median / baseline)
        for name, goal, median, cpu in medians
    ]


def print_table(timings: list[Timing], runs: int) -> None:
    """The table of goal against figure, and each figure relative to `python -c pass`."""
    print(f"median of {runs} runs, each in a new process")
    print(
        f"{'command':<32} | {'goal ms':>7} | {'median ms':>9} | {'cpu ms':>6} | "
        f"{'over baseline ms':>16} | ok"
    )
    for timing in timings:
        goal = "" if timing.goal_ms is None else f"{timing.goal_ms:.0f}"
        ok = "" if timing.ok is None else ("yes" if timing.ok else "NO")
        print(
            f"{timing.command:<32} | {goal:>7} | {timing.median_ms:>9.0f} | "
            f"{timing.cpu_ms:>6.0f} | {timing.over_baseline_ms:>16.0f} | {ok}"
        )
    print(
        "relative to python -c pass: "
        + ", ".join(f"{timing.command} {timing.ratio_to_baseline:.1f}x" for timing in timings[1:])
    )


def main(argv: list[str] | None = None) -> None:
    """Build or reuse the store, time every command, print the figures."""
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ls-cli-bench-") as workdir:
        store_path = args.store or Path(workdir) / "store.db"
        timings = measure(args, store_path)
    if args.json:
        print(json.dumps([asdict(timing) | {"ok": timing.ok} for timing in timings], indent=2))
    else:
        print_table(timings, args.runs)


if __name__ == "__main__":
    main()
