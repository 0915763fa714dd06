"""MQTT benchmark: events stored per second by the bridge, against file ingest of the same events.

It simulates D days of the bundled scenario's line and, in the same run:

(a) file baseline: writes the events to a JSONL file and runs `linespeed ingest FILE` on a
    fresh SQLite store, timing the ingest (not the interpreter's start);
(b) MQTT: starts `linespeed mqtt ingest` on another fresh store against a loopback Mosquitto
    (one of its own, persistent, unlimited queues, unless --broker names one), then
    publishes every event with QoS 1 to its station's topic as fast as the broker takes them
    (`linespeed simulate --mqtt ... --speed 0` does the same), and times from the first
    publish until the store holds every event.

Both run `--repeat` times (default 3), alternating, each on a fresh store (and a fresh bridge
session), so a burst of load from elsewhere on the machine hits both alike; the best run of each
is reported, and `--json` lists every run. It prints both rates and the ratio b/a (goal >= 0.5).
It only prints figures.

Run:
    .venv/bin/python bench/mqtt.py               # 10 days, about 30,000 events
    .venv/bin/python bench/mqtt.py --days 30 --json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, func, select

from linespeed.mqtt.broker import parse_broker_url
from linespeed.sim.emit import event_lines
from linespeed.sim.publish import publish_events
from linespeed.sim.run import simulate
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, load_scenario
from linespeed.store.engine import connect
from linespeed.store.schema import events

LINESPEED = str(Path(sys.executable).parent / "linespeed")
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def _init(db_url: str) -> None:
    subprocess.run(
        [LINESPEED, "init", "--simulation", "--db", db_url], check=True, capture_output=True
    )


def _stored(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(events)).scalar_one())


def _own_broker(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = folder / "mosquitto.conf"
    lines = [
        f"listener {port} 127.0.0.1",
        "allow_anonymous true",
        "persistence true",
        f"persistence_location {folder}/",
        "max_queued_messages 0",
        f"log_dest file {folder / 'mosquitto.log'}",
    ]
    if os.geteuid() == 0:
        lines.append("user root")
    config.write_text("\n".join(lines) + "\n")
    broker = subprocess.Popen([MOSQUITTO, "-c", str(config)])
    deadline = time.monotonic() + 10
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        if time.monotonic() > deadline:
            raise SystemExit("Mosquitto did not start")
        time.sleep(0.05)
    return broker, f"mqtt://127.0.0.1:{port}"


def _file_rate(lines: list[bytes], folder: Path, run: int) -> float:
    path = folder / "line.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    db_url = f"sqlite:///{folder / f'file-{run}.db'}"
    _init(db_url)
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from linespeed.ingest.core import Ingestor\n"
        "from linespeed.ingest.files import ingest_files\n"
        "from linespeed.store.engine import connect\n"
        "ingestor = Ingestor(connect(sys.argv[1]))\n"
        "began = time.perf_counter()\n"
        "report = ingest_files(ingestor, [Path(sys.argv[2])])\n"
        "print(time.perf_counter() - began, report.accepted)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, db_url, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds, accepted = done.stdout.split()
    assert int(accepted) == len(lines)
    return len(lines) / float(seconds)


def _mqtt_rate(lines: list[bytes], folder: Path, broker_url: str, run: int) -> tuple[float, float]:
    db_url = f"sqlite:///{folder / f'mqtt-{run}.db'}"
    _init(db_url)
    client_id = f"bench-{os.getpid()}-{run}"
    store = connect(db_url)
    bridge = subprocess.Popen(
        # the simulated line ran in 2024: no limit on the events' age
        [
            *(LINESPEED, "mqtt", "ingest", "--broker", broker_url, "--client-id", client_id),
            *("--max-age-days", "0"),
        ],
        env={**os.environ, "LINESPEED_DB": db_url},
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    try:
        assert bridge.stderr is not None
        if not bridge.stderr.readline().startswith(b"bridging "):
            raise SystemExit("the bridge did not start")
        began = time.perf_counter()
        sent = publish_events(lines, parse_broker_url(broker_url), "yz1", speed=0)
        published_s = time.perf_counter() - began
        while _stored(store) < len(lines):
            time.sleep(0.01)
        stored_s = time.perf_counter() - began
        assert sent.published == len(lines)
    finally:
        store.dispose()
        bridge.send_signal(signal.SIGTERM)
        bridge.wait(30)
    return len(lines) / stored_s, len(lines) / published_s


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--days", type=float, default=10.0, help="days of the line to simulate")
    parser.add_argument("--broker", help="use this broker instead of a Mosquitto of our own")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (best is reported)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    options = parser.parse_args()

    lines = list(event_lines(simulate(load_scenario(DEFAULT_SCENARIO_PATH), days=options.days)))
    file_rates: list[float] = []
    runs: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="linespeed-bench-mqtt-") as workdir:
        folder = Path(workdir)
        broker = None
        broker_url = options.broker
        if broker_url is None:
            broker, broker_url = _own_broker(folder)
        try:
            for run in range(max(1, options.repeat)):
                file_rates.append(_file_rate(lines, folder, run))
                runs.append(_mqtt_rate(lines, folder, broker_url, run))
        finally:
            if broker is not None:
                broker.terminate()
                broker.wait(10)
    file_rate = max(file_rates)
    stored_rate, published_rate = max(runs)
    figures = {
        "events": len(lines),
        "runs": len(runs),
        "file_ingest_events_per_s": round(file_rate),
        "mqtt_published_events_per_s": round(published_rate),
        "mqtt_stored_events_per_s": round(stored_rate),
        "ratio_mqtt_to_file": round(stored_rate / file_rate, 3),
        "goal": ">= 0.5",
        "every_run": [
            {"file": round(file), "mqtt_stored": round(stored), "mqtt_published": round(sent)}
            for file, (stored, sent) in zip(file_rates, runs, strict=True)
        ],
    }
    if options.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"events: {len(lines)} (one per MQTT message, QoS 1); best of {len(runs)} runs each")
    print(f"file ingest:   {file_rate:10,.0f} events/s")
    print(f"MQTT publish:  {published_rate:10,.0f} events/s (acknowledged by the broker)")
    print(f"MQTT stored:   {stored_rate:10,.0f} events/s (first publish to last event stored)")
    print(f"ratio MQTT / file: {stored_rate / file_rate:.3f} (goal >= 0.5)")
    pairs = zip(file_rates, runs, strict=True)
    each = ", ".join(f"{stored / file:.2f}" for file, (stored, _) in pairs)
    print(f"ratio of each run (file and MQTT back to back): {each}")


if __name__ == "__main__":
    main()
