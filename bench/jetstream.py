"""JetStream benchmark: events stored per second from a stream, against file ingest of the same.

It simulates D days of the bundled scenario's line and, in the same run:

(a) file baseline: writes the events to a JSONL file and ingests it (`linespeed ingest`'s
    function) into a fresh SQLite store, timing the ingest (not the interpreter's start);
(b) JetStream R1: a `nats-server` of its own (JetStream on, loopback), `LS_YZ1` with one
    replica; every event is published first (`simulate --nats` does the same), then
    `linespeed nats ingest` runs on a fresh store and is timed from its start until the store
    holds every event;
(c) JetStream R3: the same on a three-server cluster of its own, `LS_YZ1` with three replicas.

Each runs `--repeat` times (default 3), alternating, each on a fresh store and a fresh durable
consumer, so a burst of load from elsewhere on the machine hits all alike; the best run of
each is reported; `--compare SRC` also times, alternating, the ingest of another source tree
(`R1-compared`, `R3-compared`: before and after a change in one run). Beside the wall-clock
rates it prints the events per CPU-second of the ingest process (the machine may be busy with
other work). It prints the ratios b/a and c/a
(goal >= 0.8). Then, on the R1 server, two plants ingesting at once into one PostgreSQL store
against one plant alone (`bench/plants.py`; goal >= 1.6), unless --pg is "none".
It only prints figures.

`bench/nats.py`, the name issue 17 gives it, runs this one: a script named nats.py would
hide the `nats` library from every import, so it moves its folder to the end of the path.

Run:
    .venv/bin/python bench/nats.py               # 5 days, about 8,000 events
    .venv/bin/python bench/nats.py --days 20 --json
    .venv/bin/python bench/nats.py --compare ../main/src   # this tree's ingest against main's
(Not `python bench/jetstream.py`: with bench/ first on the path, `import nats` would find
bench/nats.py.)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

from bridged import LINESPEED, file_ingest_s, init_store, stored
from linespeed.natsio.publisher import publish_event_lines
from linespeed.natsio.streams import StreamPlan, set_up_streams
from linespeed.store.engine import connect
from plants import DEFAULT_PG_URL, plant_lines, publish, two_plants_figures

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
PLANT = "yz1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _servers(folder: Path, size: int) -> tuple[list[subprocess.Popen[bytes]], str]:
    """`size` nats-servers of our own (a cluster if more than one); the first one's URL."""
    ports = [_free_port() for _ in range(size)]
    routes = [_free_port() for _ in range(size)]
    processes = []
    for number, (port, route) in enumerate(zip(ports, routes, strict=True)):
        config = folder / f"n{size}-{number}.conf"
        text = (
            f"listen: 127.0.0.1:{port}\nserver_name: n{size}-{number}\n"
            f'jetstream {{\n  store_dir: "{folder}/js-{size}-{number}"\n}}\n'
        )
        if size > 1:
            all_routes = ", ".join(f"nats-route://127.0.0.1:{other}" for other in routes)
            text += (
                f"cluster {{ name: c{size}, listen: 127.0.0.1:{route}, routes: [{all_routes}] }}\n"
            )
        config.write_text(text)
        log = (folder / f"n{size}-{number}.log").open("ab")
        processes.append(subprocess.Popen([NATS_SERVER, "-c", str(config)], stdout=log, stderr=log))
    url = f"nats://127.0.0.1:{ports[0]}"
    deadline = time.monotonic() + 30
    while True:
        try:
            set_up_streams(url, StreamPlan((PLANT,), replicas=size))
            return processes, url
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _file_rate(lines: list[bytes], folder: Path, run: int) -> tuple[float, float]:
    seconds, cpu_s = file_ingest_s(lines, folder, run)
    return len(lines) / seconds, len(lines) / cpu_s


def _nats_rate(
    lines: list[bytes], folder: Path, url: str, name: str, source: Path | None = None
) -> tuple[float, float]:
    """(events stored per second, per CPU-second of the ingest) reading the whole stream, with
    the linespeed package of `source` (a source tree's `src` folder) if given."""
    db_url = f"sqlite:///{folder / f'{name}.db'}"
    init_store(db_url)
    store = connect(db_url)
    env = {**os.environ, "LINESPEED_DB": db_url}
    if source is not None:
        env["PYTHONPATH"] = str(source)
    ingest = subprocess.Popen(
        [LINESPEED, "nats", "ingest", "--server", url, "--durable", name, "--max-age-days", "0"],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    try:
        assert ingest.stderr is not None
        if not ingest.stderr.readline().startswith(b"reading "):
            raise SystemExit("the NATS ingest did not start")
        process = psutil.Process(ingest.pid)
        began = time.perf_counter()
        cpu = process.cpu_times()
        while stored(store) < len(lines):
            time.sleep(0.02)
        stored_s = time.perf_counter() - began
        after = process.cpu_times()
        cpu_s = (after.user + after.system) - (cpu.user + cpu.system)
    finally:
        store.dispose()
        ingest.send_signal(signal.SIGTERM)
        ingest.wait(30)
    return len(lines) / stored_s, len(lines) / max(cpu_s, 1e-9)


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--days", type=float, default=5.0, help="days of the line to simulate")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (best is reported)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--compare",
        type=Path,
        help="also time the NATS ingest of the linespeed package in this source tree's src"
        " folder (a checkout of main), alternating with this one",
    )
    parser.add_argument(
        "--pg",
        default=os.environ.get("LINESPEED_TEST_PG_URL", DEFAULT_PG_URL),
        help='PostgreSQL server for the two-plant run ("none" to skip it)',
    )
    options = parser.parse_args()

    file_runs: list[tuple[float, float]] = []
    nats_runs: dict[str, list[tuple[float, float]]] = {"R1": [], "R3": []}
    if options.compare is not None:
        nats_runs.update({"R1-compared": [], "R3-compared": []})
    published: dict[str, float] = {}
    plants: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="linespeed-bench-nats-") as workdir:
        folder = Path(workdir)
        both = plant_lines(options.days, folder)
        lines = both[PLANT]
        started: list[subprocess.Popen[bytes]] = []
        try:
            urls = {}
            for replicas in (1, 3):
                processes, url = _servers(folder, replicas)
                started.extend(processes)
                urls[f"R{replicas}"] = url
                sent = publish_event_lines(lines, url, PLANT)
                assert sent.published == len(lines)
                published[f"R{replicas}"] = len(lines) / sent.seconds
            for run in range(max(1, options.repeat)):
                file_runs.append(_file_rate(lines, folder, run))
                for key, url in urls.items():
                    nats_runs[key].append(_nats_rate(lines, folder, url, f"{key}-{run}"))
                    if options.compare is not None:
                        nats_runs[f"{key}-compared"].append(
                            _nats_rate(lines, folder, url, f"{key}-c{run}", options.compare)
                        )
            if options.pg != "none":
                publish({"yz2": both["yz2"]}, urls["R1"])
                plants = two_plants_figures(both, urls["R1"], options.pg, folder, options.repeat)
        finally:
            for process in started:
                process.terminate()
                process.wait(10)
    file_rate = max(rate for rate, _ in file_runs)
    file_cpu = max(cpu for _, cpu in file_runs)
    best = {key: max(rate for rate, _ in runs) for key, runs in nats_runs.items()}
    best_cpu = {key: max(cpu for _, cpu in runs) for key, runs in nats_runs.items()}
    figures = {
        "events": len(lines),
        "runs": len(file_runs),
        "file_ingest_events_per_s": round(file_rate),
        "file_ingest_events_per_cpu_s": round(file_cpu),
        **{f"nats_{key}_published_events_per_s": round(rate) for key, rate in published.items()},
        **{f"nats_{key}_stored_events_per_s": round(rate) for key, rate in best.items()},
        **{f"nats_{key}_events_per_cpu_s": round(rate) for key, rate in best_cpu.items()},
        **{f"ratio_{key}_to_file": round(rate / file_rate, 3) for key, rate in best.items()},
        **{f"cpu_ratio_{key}_to_file": round(rate / file_cpu, 3) for key, rate in best_cpu.items()},
        "goal": ">= 0.8",
        **{f"postgresql_{key}": value for key, value in plants.items()},
        "two_plants_goal": ">= 1.6",
    }
    if options.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"events: {len(lines)} (one per message); best of {len(file_runs)} runs each")
    print(f"file ingest:        {file_rate:10,.0f} events/s  {file_cpu:10,.0f} events/CPU-s")
    for key in best:
        print(
            f"JetStream {key} stored: {best[key]:10,.0f} events/s  {best_cpu[key]:10,.0f}"
            f" events/CPU-s  (published at {published[key[:2]]:,.0f} events/s)"
        )
    for key in best:
        print(
            f"ratio {key} / file: {best[key] / file_rate:.3f} wall clock,"
            f" {best_cpu[key] / file_cpu:.3f} CPU (goal >= 0.8)"
        )
    if plants:
        print(
            f"PostgreSQL, one plant:        {plants['one_plant_events_per_s']:10,.0f} events/s"
            f"  {plants['one_plant_events_per_cpu_s']:10,.0f} events/CPU-s (the ingest's)"
        )
        print(
            f"PostgreSQL, two plants at once: {plants['two_plants_events_per_s']:8,.0f} events/s"
            f"  {plants['two_plants_events_per_cpu_s']:10,.0f} events/CPU-s (both ingests')"
        )
        print(f"ratio two plants / one: {plants['ratio_two_plants_to_one']:.3f} (goal >= 1.6)")


if __name__ == "__main__":
    main()
