"""Speed of a day's KPIs, a shift's KPIs by station and the board at full rate (issue 16, item 7).

Build a store first, e.g. the 300,000-car demo store (`make demo`: units only up to car
300,000, then every station, part and check for the next cars, about two full-rate days), then:

    .venv/bin/python bench/kpi_day.py --db sqlite:///demo/linespeed.db [--repeat 5]

It takes the last finished plant-local day with completions and prints the median time of:
the day's report computed from the visits (`keep=False`, the baseline), its first report
(computed and kept), the kept report read back; the same for the day's first shift by
station; the board of that day and of the newest (live) day. Goals: day KPIs <= 100 ms,
board <= 100 ms. The kept reports are deleted at the start, so every run measures the first
computation too.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select

from linespeed.kpi import GroupBy, kpi_report
from linespeed.kpi.window import Window, local_midnight, shift_spans
from linespeed.live.board import line_board
from linespeed.store.engine import open_store
from linespeed.store.plants import current_plant
from linespeed.store.schema import kpi_reports, station_visits, units
from queries import median_ms  # bench/queries.py, beside this file


def once_ms(action: Callable[[], Any]) -> float:
    """Wall time of one run of `action`, in milliseconds."""
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def forget(engine: Engine) -> None:
    """Delete every kept report."""
    with engine.begin() as connection:
        connection.execute(kpi_reports.delete())


def report_times(
    engine: Engine, window: Window, by: GroupBy | None, repeat: int
) -> dict[str, float]:
    """The computed (baseline), first (computed and kept) and kept times of one report."""

    def run(keep: bool) -> Callable[[], Any]:
        return lambda: kpi_report(engine, since=window.since, until=window.until, by=by, keep=keep)

    computed = median_ms(run(False), repeat)
    forget(engine)
    first = once_ms(run(True))
    kept = median_ms(run(True), repeat)
    return {"computed_ms": computed, "first_ms": first, "kept_ms": kept}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="sqlite:///demo/linespeed.db")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    engine = open_store(options.db)
    with engine.connect() as connection:
        plant = current_plant(connection)
        cars = connection.execute(select(func.count()).select_from(units)).scalar_one()
        last = connection.execute(select(func.max(units.c.completed_at))).scalar()
    if last is None:
        raise SystemExit("the store holds no completed car: build one first (see --help)")
    zone = ZoneInfo(plant.timezone)
    day = last.astimezone(zone).date() - timedelta(days=1)
    window = Window(local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone))
    inside = [
        span
        for span in shift_spans(plant, window)
        if window.since <= span.start < span.end <= window.until
    ]
    shift = max(inside, key=lambda span: span.end - span.start, default=None)
    with engine.connect() as connection:
        visits = connection.execute(
            select(func.count()).where(
                station_visits.c.completed_at >= window.since,
                station_visits.c.completed_at < window.until,
            )
        ).scalar_one()
    figures: dict[str, Any] = {"cars": cars, "day_visits": visits}
    figures["day"] = {"day": day.isoformat(), **report_times(engine, window, None, options.repeat)}
    if shift is not None:
        shift_window = Window(shift.start, shift.end)
        figures["shift_by_station"] = {
            "shift": shift.name,
            **report_times(engine, shift_window, "station", options.repeat),
        }
    figures["board_day_ms"] = median_ms(lambda: line_board(engine, day=day), options.repeat)
    figures["board_live_ms"] = median_ms(lambda: line_board(engine), options.repeat)
    _print(options.db, figures, visits)
    if options.json:
        print(json.dumps(figures))


def _print(db: str, figures: dict[str, Any], visits: int) -> None:
    print(f"store: {figures['cars']:,} cars ({db}); {visits:,} station visits on the day")
    rows = [("day KPIs", figures["day"])]
    if "shift_by_station" in figures:
        rows.append(
            (
                f"shift {figures['shift_by_station']['shift']} by station",
                figures["shift_by_station"],
            )
        )
    for name, times in rows:
        ratio = times["computed_ms"] / times["kept_ms"] if times["kept_ms"] else 0.0
        print(
            f"{name:<22} computed {times['computed_ms']:8.1f} ms   first {times['first_ms']:8.1f}"
            f" ms   kept {times['kept_ms']:7.1f} ms  (goal <= 100 ms; ratio computed/kept"
            f" {ratio:.1f})"
        )
    print(f"board of the day            {figures['board_day_ms']:8.1f} ms  (goal <= 100 ms)")
    print(
        f"board of the newest day     {figures['board_live_ms']:8.1f} ms  (goal <= 100 ms;"
        " not finished, computed)"
    )


if __name__ == "__main__":
    main()
