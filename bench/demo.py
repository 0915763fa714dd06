"""Wall time and peak RSS of the whole demo (the steps of `make demo`), step by step.

Run: .venv/bin/python bench/demo.py [--units N]   (default: the demo's 300,000 cars)
Goal (issue 3): <= 3 minutes and <= 1 GB on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LINESPEED = str(Path(sys.executable).parent / "linespeed")


def run(step: str, args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run one command; returns (seconds, peak RSS in MiB, stdout)."""
    started = time.perf_counter()
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    stdout = process.stdout.read() if process.stdout else b""
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        sys.exit(f"{step} failed with status {status}")
    return elapsed, usage.ru_maxrss / 1024, stdout.decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=300_000)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "LINESPEED_DB": f"sqlite:///{folder}/demo.db"}
        more = options.units + 2_000
        steps = {
            "init (units)": [LINESPEED, "init", "--simulation", "--tracking", "units"],
            "history": [
                LINESPEED,
                "simulate",
                "--until-units",
                str(options.units),
                "--detail",
                "units",
                "--into-db",
                "--json",
            ],
            "init (stations)": [LINESPEED, "init"],
            "live": [
                LINESPEED,
                "simulate",
                "--until-units",
                str(more),
                "--after-units",
                str(options.units),
                "--into-db",
                "--json",
            ],
        }
        figures: dict[str, dict[str, float]] = {}
        summary: dict[str, dict[str, object]] = {}
        for step, args in steps.items():
            seconds, rss, stdout = run(step, args, env)
            figures[step] = {"seconds": round(seconds, 1), "peak_rss_mib": round(rss)}
            if step in ("history", "live"):
                summary[step] = json.loads(stdout)
            print(f"{step:16s} {seconds:8.1f} s   peak RSS {rss:7.0f} MiB")
        events = sum(int(str(part.get("events", 0))) for part in summary.values())
        total = sum(step["seconds"] for step in figures.values())
        peak = max(step["peak_rss_mib"] for step in figures.values())
        print(
            f"whole demo       {total:8.1f} s   peak RSS {peak:7.0f} MiB"
            "   (goal <= 180 s, <= 1024 MiB)"
        )
        seconds = figures["history"]["seconds"] + figures["live"]["seconds"]
        print(f"events {events:,}, {events / seconds:,.0f} events/s simulated and stored")
        if options.json:
            print(
                json.dumps(
                    {"steps": figures, "total_s": total, "peak_rss_mib": peak, "events": events}
                )
            )


if __name__ == "__main__":
    main()
