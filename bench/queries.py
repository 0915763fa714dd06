"""Speed of the questions people wait for, on a store (the demo's by default).

Run after `make demo`:  .venv/bin/python bench/queries.py [--db URL] [--repeat N]
Prints the median time of: one day's KPIs, the whole-history ramp curve with its forecast,
a milestone plan, and the stock of every part. Goals (issue 4): day KPIs <= 100 ms, ramp
<= 200 ms; (issue 13) stock <= 100 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from linespeed.kpi import kpi_report
from linespeed.ramp.milestones import milestones_reached, plan_milestone
from linespeed.ramp.plant_ramp import plant_ramp
from linespeed.store.engine import open_store
from linespeed.store.schema import units
from linespeed.supply.stock import stock_report


def median_ms(action: Callable[[], Any], repeat: int) -> float:
    """Median wall time of `action` over `repeat` runs, in milliseconds (after one warm-up)."""
    action()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="sqlite:///demo/linespeed.db")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    engine = open_store(options.db)
    with engine.connect() as connection:
        cars = connection.execute(select(func.count()).select_from(units)).scalar_one()
        last = connection.execute(select(func.max(units.c.completed_at))).scalar()
    if last is None:
        raise SystemExit("the store holds no completed car: run `make demo` first")
    day_end = last.replace(hour=0, minute=0, second=0, microsecond=0)
    day_start = day_end - timedelta(days=1)
    following = milestones_reached(engine).next_milestone or 1
    figures = {
        "cars": cars,
        "day_kpis_ms": median_ms(
            lambda: kpi_report(engine, since=day_start, until=day_end), options.repeat
        ),
        "ramp_ms": median_ms(lambda: plant_ramp(engine), options.repeat),
        "milestone_plan_ms": median_ms(lambda: plan_milestone(engine, following), options.repeat),
        "stock_ms": median_ms(lambda: stock_report(engine), options.repeat),
    }
    print(f"store: {cars:,} cars ({options.db})")
    day = f"{day_start:%Y-%m-%d}"
    print(f"one day's KPIs ({day} UTC):  {figures['day_kpis_ms']:8.1f} ms  (goal <= 100 ms)")
    print(f"whole-history ramp curve:          {figures['ramp_ms']:8.1f} ms  (goal <= 200 ms)")
    print(f"milestone plan for car {following}: {figures['milestone_plan_ms']:8.1f} ms")
    print(f"stock of every part:               {figures['stock_ms']:8.1f} ms  (goal <= 100 ms)")
    if options.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
