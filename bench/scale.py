"""Plant scale: build a full-detail store of the bundled scenario, then time every question.

For each backend it builds (once; later runs reuse it) a store of N simulated cars (300,000
by default, about 29 million events) with every station, part and check of the bundled
scenario, through linespeed's one ingest path: `linespeed init --simulation`, then
`linespeed simulate --until-units N --into-db` in a subprocess. While it runs, the number
of stored events is sampled twice a second, so the bench prints the rate of every million
events as it goes, and compares the last million with the first (goal: >= 80 %).

It reports the build's wall time, events/s, bytes per event (SQLite file, or PostgreSQL
database, over events) and the build process's peak RSS, then the median time (warm, over
repeats; this process's CPU time beside it, steadier on a busy machine) of every question
a person waits on, through the library functions the CLI and the API call: unit history,
VIN trace, lot recall (brake-caliper lots holding about 10,000 cars), serial trace, a full
day's KPIs near the end, a shift's KPIs by station, the ramp report, milestones, the
milestone plan, stock, the board, and last `linespeed rebuild` (long at 300,000 cars:
`--skip-rebuild` leaves it out, and shows the last rebuild's figures kept beside the store).

Run:
    .venv/bin/python bench/scale.py --backend sqlite --workdir /var/tmp/ls-scale
    .venv/bin/python bench/scale.py --cars 3000 --backend both --json

PostgreSQL runs use --pg-url, else LINESPEED_TEST_PG_URL, else the local server; the store
is a database named after the car count (`linespeed_bench_scale_N`), kept for reuse. The
build's figures are kept beside it in the working folder. It prints a table of goal against
figure per backend (and with --json the figures as one JSON object); it never asserts timings.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import cycle, pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ingest import mib, on_disk, run_timed
from linespeed.kpi import kpi_report
from linespeed.live.board import line_board
from linespeed.ramp.milestones import milestones_reached, plan_milestone
from linespeed.ramp.report import ramp_report
from linespeed.store.engine import connect
from linespeed.store.plants import current_plant
from linespeed.store.schema import events, units
from linespeed.supply.stock import stock_report
from linespeed.trace import part_recall, unit_history, vin_trace
from linespeed.trace.errors import TraceInputError
from stores import pg_database, pg_server

LOT_PART = "BRK-2201"
LOT_CARS = 10_000
SERIAL_PART = "BAT-1001"
WINDOW_EVENTS = 1_000_000
"""The first and the last this many events are the build's rates compared."""
SAMPLE_S = 0.5
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
BUILD_GOAL_MIN = {"sqlite": 10.0, "postgresql": 20.0}
LAST_VS_FIRST_GOAL = 0.8
BYTES_GOAL = {"sqlite": 150.0}
REBUILD_GOAL_S = 300.0
QUESTION_GOALS_MS = {
    "vin trace": 2.0,
    "lot recall": 50.0,
    "day KPIs": 100.0,
    "ramp": 200.0,
    "stock": 100.0,
    "board": 100.0,
}
"""Goals of issue 16 (and of issue 13 for stock); questions not named have none."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cars", type=int, default=300_000, help="cars in the store")
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql", "both"), default="sqlite", help="where"
    )
    parser.add_argument(
        "--workdir", type=Path, default=Path("bench-data"), help="SQLite stores, build figures"
    )
    parser.add_argument("--pg-url", default=None, help="PostgreSQL server URL")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per question")
    parser.add_argument(
        "--skip-rebuild", action="store_true", help="do not time `linespeed rebuild`"
    )
    parser.add_argument(
        "--partial",
        action="store_true",
        help="time the questions on a store whose build was interrupted, as it is",
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)
    if args.cars < 1 or args.repeat < 1:
        parser.error("--cars and --repeat must be at least 1")
    return args


def store_url(backend: str, args: argparse.Namespace) -> str:
    """The URL of the store for `backend`; a PostgreSQL database is created if missing."""
    if backend == "sqlite":
        return f"sqlite:///{args.workdir.resolve() / f'scale-{args.cars}.db'}"
    return pg_database(pg_server(args.pg_url), f"linespeed_bench_scale_{args.cars}")


def children_cpu_s() -> float:
    """CPU seconds (user and system) used so far by this process's children; 0 off Linux."""
    used = 0.0
    for listing in Path("/proc/self/task").glob("*/children"):
        for pid in listing.read_text().split():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, IndexError):
                continue
            used += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return used


class EventCounter:
    """Samples the stored events and the build's CPU time from a thread; prints each million.

    A sample is (wall seconds, events stored, CPU seconds of the build process): on a busy
    machine, events per CPU second tell a slower build from a starved one.
    """

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self.samples: list[tuple[float, int, float]] = [(time.perf_counter(), 0, 0.0)]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> EventCounter:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopped.set()
        self.thread.join()
        self._sample()
        self.engine.dispose()

    def _sample(self) -> None:
        try:
            with self.engine.connect() as connection:
                stored = connection.execute(select(func.max(events.c.seq))).scalar() or 0
        except SQLAlchemyError:
            return
        self.samples.append((time.perf_counter(), int(stored), children_cpu_s()))

    def _run(self) -> None:
        millions = 0
        while not self.stopped.wait(SAMPLE_S):
            self._sample()
            while self.samples[-1][1] >= (millions + 1) * WINDOW_EVENTS:
                millions += 1
                low, high = max(1, (millions - 1) * WINDOW_EVENTS), millions * WINDOW_EVENTS
                rate = rate_between(self.samples, low, high)
                cpu_rate = rate_between(self.samples, low, high, cpu=True)
                total = rate_between(self.samples, 1, high)
                print(
                    f"  {millions:>3} M events stored: this million {rate or 0:,.0f} events/s"
                    f" ({cpu_rate or 0:,.0f} per CPU second of the build),"
                    f" since the first event {total or 0:,.0f} events/s",
                    flush=True,
                )


def reached_at(
    samples: Sequence[tuple[float, int, float]], count: int, *, cpu: bool = False
) -> float | None:
    """When (wall or build CPU seconds) the store reached `count` events, interpolated
    between samples; None if it never did."""
    clock = 2 if cpu else 0
    for before, after in pairwise(samples):
        if after[1] >= count > before[1]:
            share = (count - before[1]) / (after[1] - before[1])
            return before[clock] + (after[clock] - before[clock]) * share
    return None


def rate_between(
    samples: Sequence[tuple[float, int, float]], low: int, high: int, *, cpu: bool = False
) -> float | None:
    """Events per second (wall, or CPU of the build) from the `low`th event stored to the
    `high`th; None if not measurable."""
    start, end = reached_at(samples, low, cpu=cpu), reached_at(samples, high, cpu=cpu)
    if start is None or end is None or end <= start:
        return None
    return (high - low) / (end - start)


def store_size(url: str) -> int:
    """Bytes the store takes: the SQLite file and its log, or the PostgreSQL database."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return on_disk(Path(parsed.database or ""))
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
            )
    finally:
        engine.dispose()


def cars_built(url: str) -> int | None:
    """Cars completed in the store; None if it holds no schema yet."""
    engine = create_engine(url)
    try:
        if not inspect(engine).has_table("units"):
            return None
        with engine.connect() as connection:
            return int(connection.execute(select(func.max(units.c.completion_seq))).scalar() or 0)
    finally:
        engine.dispose()


def build(
    backend: str, url: str, cars: int, workdir: Path, *, partial: bool = False
) -> dict[str, Any]:
    """Build the store (or reuse it); the build's figures, kept in `workdir` for reuse.

    With `partial`, a store holding fewer cars than asked (an interrupted build) is measured
    as it is. Raises SystemExit if it holds fewer cars than asked, without `partial`.
    """
    saved = workdir / f"scale-{cars}-{backend}.build.json"
    have = cars_built(url)
    if have is not None and have >= cars:
        print(f"  reusing the store: {have:,} cars built")
        figures: dict[str, Any] = json.loads(saved.read_text()) if saved.exists() else {}
        return {**figures, "reused": True}
    if have and partial:
        print(f"  measuring an unfinished store as it is: {have:,} of {cars:,} cars built")
        return {"reused": True, "partial_cars": have}
    if have:
        raise SystemExit(
            f"{url} holds {have:,} cars, fewer than {cars:,}: remove it, or give --partial"
        )
    linespeed = str(Path(sys.executable).parent / "linespeed")
    init = run_timed([linespeed, "init", "--simulation", "--db", url], workdir, f"{backend}-init")
    if init.returncode != 0:
        raise SystemExit(f"linespeed init failed ({init.returncode}): {init.stderr}")
    command = [
        linespeed,
        "simulate",
        "--until-units",
        str(cars),
        "--into-db",
        "--db",
        url,
        "--json",
    ]
    print(f"  building: {' '.join(command[1:])}", flush=True)
    with EventCounter(url) as counter:
        run = run_timed(command, workdir, f"{backend}-simulate")
    if run.returncode != 0:
        raise SystemExit(f"linespeed simulate failed ({run.returncode}): {run.stderr[-2000:]}")
    summary = json.loads(run.stdout)
    stored = int(summary["events"])
    if summary["ingest"]["accepted"] != stored or summary["ingest"]["rejected"]:
        print(f"!!! WARNING: not every event was accepted: {json.dumps(summary['ingest'])}")
    samples = counter.samples
    window = min(WINDOW_EVENTS, stored // 2)
    first_event_s = reached_at(samples, 1)
    last_event_s = reached_at(samples, stored)
    figures = {
        "events": stored,
        "cars": summary["cars_completed"],
        "build_s": init.elapsed_s + run.elapsed_s,
        "simulate_before_first_event_s": None
        if first_event_s is None
        else first_event_s - samples[0][0],
        "ingest_s": None
        if first_event_s is None or last_event_s is None
        else last_event_s - first_event_s,
        "peak_rss_bytes": run.max_rss_bytes,
        "bytes_per_event": store_size(url) / stored,
        "window_events": window,
        "first_window_events_per_s": rate_between(samples, 1, window),
        "last_window_events_per_s": rate_between(samples, stored - window, stored),
        "first_window_events_per_cpu_s": rate_between(samples, 1, window, cpu=True),
        "last_window_events_per_cpu_s": rate_between(samples, stored - window, stored, cpu=True),
        "built_at": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    figures["events_per_s"] = stored / figures["build_s"]
    saved.write_text(json.dumps(figures, indent=1))
    return {**figures, "reused": False}


@dataclass(frozen=True)
class Sample:
    """The cars, pieces and times the questions ask about."""

    vins: list[str]
    serials: list[str]
    lots: list[str]
    lot_cars: int
    day: tuple[datetime, datetime]
    shift: tuple[datetime, datetime]
    next_milestone: int


def sample(engine: Engine, count: int) -> Sample:
    """Random built cars, their battery serials, brake-caliper lots of about LOT_CARS cars,
    the last full plant-local day before the newest completion and its first shift."""
    rng = random.Random(1)
    with engine.connect() as connection:
        built = connection.execute(select(func.max(units.c.completion_seq))).scalar_one()
        last = connection.execute(select(func.max(units.c.completed_at))).scalar_one()
        plant = current_plant(connection)
        numbers = [rng.randint(1, built) for _ in range(count)]
        vins = list(
            connection.execute(select(units.c.vin).where(units.c.completion_seq.in_(numbers)))
            .scalars()
            .all()
        )
    serials = [
        part.serial
        for vin in vins
        for part in vin_trace(engine, vin).parts
        if part.part == SERIAL_PART and part.serial is not None
    ]
    lots: list[str] = []
    lot_cars = 0
    while lot_cars < LOT_CARS:
        lot = f"{LOT_PART}-L{len(lots) + 1:05d}"
        try:
            held = len(part_recall(engine, LOT_PART, lots=[lot]).cars)
        except TraceInputError:  # there are no more lots
            break
        lots.append(lot)
        lot_cars += held
    zone = ZoneInfo(plant.timezone)
    local_day = last.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    day_start = (local_day - timedelta(days=1)).replace(tzinfo=None).replace(tzinfo=zone)
    day_end = local_day.replace(tzinfo=None).replace(tzinfo=zone)
    shift = plant.shifts[0]
    shift_start = day_start.replace(hour=int(shift.start[:2]), minute=int(shift.start[3:]))
    shift_end = day_start.replace(hour=int(shift.end[:2]), minute=int(shift.end[3:]))
    if shift_end <= shift_start:
        shift_end += timedelta(days=1)
    return Sample(
        vins=vins,
        serials=serials,
        lots=lots,
        lot_cars=lot_cars,
        day=(day_start, day_end),
        shift=(shift_start, shift_end),
        next_milestone=milestones_reached(engine).next_milestone or built + 1,
    )


def each_of(items: Sequence[str], action: Callable[[str], object]) -> Callable[[], object]:
    """An action that runs `action` on the next of `items`, round and round."""
    following = cycle(items).__next__
    return lambda: action(following())


def median_wall_and_cpu_ms(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Medians of the wall time and of this process's CPU time of `action`, in ms, over
    `repeat` runs after one warm-up (on a busy machine the CPU time is the steadier)."""
    action()
    wall_ms, cpu_ms = [], []
    for _ in range(repeat):
        started, used = time.perf_counter(), time.process_time()
        action()
        wall_ms.append((time.perf_counter() - started) * 1000)
        cpu_ms.append((time.process_time() - used) * 1000)
    return statistics.median(wall_ms), statistics.median(cpu_ms)


def time_questions(engine: Engine, repeat: int) -> dict[str, Any]:
    """Median warm times (ms) of every question people wait on, with what they were asked."""
    asked = sample(engine, repeat)
    (day_start, day_end), (shift_start, shift_end) = asked.day, asked.shift
    questions: dict[str, Callable[[], object]] = {
        "unit history": each_of(asked.vins, lambda vin: unit_history(engine, vin)),
        "vin trace": each_of(asked.vins, lambda vin: vin_trace(engine, vin)),
        "lot recall": lambda: part_recall(engine, LOT_PART, lots=asked.lots),
        "serial trace": each_of(
            asked.serials, lambda serial: part_recall(engine, SERIAL_PART, serial=serial)
        ),
        "day KPIs": lambda: kpi_report(engine, since=day_start, until=day_end),
        "shift KPIs by station": lambda: kpi_report(
            engine, since=shift_start, until=shift_end, by="station"
        ),
        "ramp": lambda: ramp_report(engine),
        "milestones": lambda: milestones_reached(engine),
        "milestone plan": lambda: plan_milestone(engine, asked.next_milestone),
        "stock": lambda: stock_report(engine),
        "board": lambda: line_board(engine),
    }
    figures: dict[str, Any] = {}
    cpu_ms: dict[str, float] = {}
    for name, action in questions.items():
        figures[name], cpu_ms[name] = median_wall_and_cpu_ms(action, repeat)
        print(
            f"  {name}: median {figures[name]:,.2f} ms (CPU of this process {cpu_ms[name]:,.2f})",
            flush=True,
        )
    figures["cpu ms"] = cpu_ms
    figures["asked"] = {
        "lots": asked.lots,
        "lot cars": asked.lot_cars,
        "day": [day_start.isoformat(), day_end.isoformat()],
        "shift": [shift_start.isoformat(), shift_end.isoformat()],
        "next milestone": asked.next_milestone,
    }
    return figures


def time_rebuild(url: str, workdir: Path, backend: str, cars: int) -> dict[str, Any]:
    """Wall time and peak RSS of `linespeed rebuild` on the store, kept in `workdir` so that
    a later run with --skip-rebuild still shows them."""
    linespeed = str(Path(sys.executable).parent / "linespeed")
    print("  rebuild: linespeed rebuild (every projection from the events)", flush=True)
    run = run_timed([linespeed, "rebuild", "--db", url, "--json"], workdir, f"{backend}-rebuild")
    if run.returncode != 0:
        print(f"!!! WARNING: linespeed rebuild exited with {run.returncode}: {run.stderr[-2000:]}")
        return {}
    figures = {
        "rebuild_s": run.elapsed_s,
        "rebuild_peak_rss_bytes": run.max_rss_bytes,
        "rebuild_at": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    kept_rebuild(workdir, backend, cars).write_text(json.dumps(figures, indent=1))
    return figures


def kept_rebuild(workdir: Path, backend: str, cars: int) -> Path:
    """Where the last rebuild's figures of a store are kept."""
    return workdir / f"scale-{cars}-{backend}.rebuild.json"


@dataclass(frozen=True)
class Row:
    """One line of a backend's table; `key` names it in the JSON, `met` is None without a goal."""

    key: str
    question: str
    goal: str
    figure: str
    met: bool | None


def per_cpu(rate: float | None, first: float | None) -> str:
    """`, N per CPU s` (with its share of `first`), or nothing if not measured."""
    if rate is None:
        return ""
    share = "" if first is None else f" ({rate / first:.0%})"
    return f", {rate:,.0f} per CPU s{share}"


def _at_most(value: float | None, goal: float | None) -> bool | None:
    return None if value is None or goal is None else value <= goal


def goal_rows(backend: str, figures: dict[str, Any]) -> list[Row]:
    """The rows of a backend's table: each goal against its figure ("n/a" if not measured)."""
    build_goal = BUILD_GOAL_MIN[backend]
    build_s = figures.get("build_s")
    first = figures.get("first_window_events_per_s")
    last = figures.get("last_window_events_per_s")
    share = None if first is None or last is None else last / first
    first_cpu = figures.get("first_window_events_per_cpu_s")
    last_cpu = figures.get("last_window_events_per_cpu_s")
    window = figures.get("window_events", WINDOW_EVENTS)
    bytes_goal = BYTES_GOAL.get(backend)
    size = figures.get("bytes_per_event")
    rss = figures.get("peak_rss_bytes")
    rows = [
        Row(
            "build",
            "build (init + simulate --into-db)",
            f"<= {build_goal:g} min",
            "n/a" if build_s is None else f"{build_s / 60:,.1f} min ({figures['events']:,} events)",
            _at_most(None if build_s is None else build_s / 60, build_goal),
        ),
        Row(
            "build rate",
            "build rate",
            "",
            "n/a" if build_s is None else f"{figures['events_per_s']:,.0f} events/s",
            None,
        ),
        Row(
            "first events",
            f"ingest, first {window:,} events",
            "",
            "n/a" if first is None else f"{first:,.0f} events/s{per_cpu(first_cpu, None)}",
            None,
        ),
        Row(
            "last events",
            f"ingest, last {window:,} events",
            f">= {LAST_VS_FIRST_GOAL:.0%} of first",
            "n/a"
            if last is None or share is None
            else f"{last:,.0f} events/s ({share:.0%}){per_cpu(last_cpu, first_cpu)}",
            None if share is None else share >= LAST_VS_FIRST_GOAL,
        ),
        Row(
            "bytes per event",
            "bytes per event",
            "" if bytes_goal is None else f"<= {bytes_goal:g}",
            "n/a" if size is None else f"{size:,.0f}",
            _at_most(size, bytes_goal),
        ),
        Row("peak rss", "peak RSS of the build", "", "n/a" if rss is None else mib(rss), None),
    ]
    asked, cpu_ms = figures["questions"]["asked"], figures["questions"]["cpu ms"]
    for name, value in figures["questions"].items():
        if name in ("asked", "cpu ms"):
            continue
        goal = QUESTION_GOALS_MS.get(name)
        question = f"{name} ({asked['lot cars']:,} cars)" if name == "lot recall" else name
        rows.append(
            Row(
                name,
                question,
                "" if goal is None else f"<= {goal:g} ms",
                f"{value:,.2f} ms (CPU {cpu_ms[name]:,.2f} ms)",
                _at_most(value, goal),
            )
        )
    if "rebuild_s" in figures:
        rows.append(
            Row(
                "rebuild",
                "rebuild",
                f"<= {REBUILD_GOAL_S / 60:g} min",
                f"{figures['rebuild_s'] / 60:,.1f} min (at {figures.get('rebuild_at', '?')})",
                _at_most(figures["rebuild_s"], REBUILD_GOAL_S),
            )
        )
    return rows


def print_table(backend: str, cars: int, rows: list[Row]) -> None:
    """The goal-against-figure table of one backend."""
    met_words = {True: "yes", False: "no", None: "-"}
    header = ("question", "goal", "figure", "met")
    body = [(row.question, row.goal, row.figure, met_words[row.met]) for row in rows]
    widths = [max(len(cells[k]) for cells in (header, *body)) for k in range(4)]
    print(f"\n{backend}, {cars:,} cars, full detail")
    for cells in (header, tuple("-" * width for width in widths), *body):
        padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        print(" | ".join(padded).rstrip())


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    """Build or reuse one backend's store, time its questions (and rebuild); its figures."""
    url = store_url(backend, args)
    print(f"== {backend}: {args.cars:,} cars, full detail", flush=True)
    figures = build(backend, url, args.cars, args.workdir, partial=args.partial)
    engine = connect(url)
    try:
        figures["questions"] = time_questions(engine, args.repeat)
    finally:
        engine.dispose()
    if not args.skip_rebuild:
        figures.update(time_rebuild(url, args.workdir, backend, args.cars))
    elif kept_rebuild(args.workdir, backend, args.cars).exists():
        figures.update(json.loads(kept_rebuild(args.workdir, backend, args.cars).read_text()))
    rows = goal_rows(backend, figures)
    figures["goals_met"] = {row.key: row.met for row in rows if row.met is not None}
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    """Run each backend, then print its table (and the JSON figures)."""
    args = parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    results = {backend: run_backend(backend, args) for backend in backends}
    for backend, figures in results.items():
        print_table(backend, figures.get("partial_cars", args.cars), goal_rows(backend, figures))
    if args.json:
        print(json.dumps({"cars": args.cars, "backends": results}, sort_keys=True))


if __name__ == "__main__":
    main()
