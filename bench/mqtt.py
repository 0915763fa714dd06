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
is reported, and `--json` lists every run. It prints both rates and the ratio b/a (goal >= 0.5),
and, as the machine may be loaded, the CPU time per event of the file ingest and of the bridge
process (all its threads, from the first publish until every event is stored) and their ratio.
With `--nats` the broker is a nats-server of its own (JetStream, MQTT listener): MQTT 3.1.1,
to which the bridge and the publisher fall back. It only prints figures.

Run:
    .venv/bin/python bench/mqtt.py               # 10 days, about 30,000 events
    .venv/bin/python bench/mqtt.py --days 30 --json
    .venv/bin/python bench/mqtt.py --nats        # through nats-server's MQTT listener (3.1.1)
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
from linespeed.mqtt.broker import parse_broker_url
from linespeed.sim.emit import event_lines
from linespeed.sim.publish import publish_events
from linespeed.sim.run import simulate
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, load_scenario
from linespeed.store.engine import connect

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
NATS_SERVER = shutil.which("nats-server") or "/usr/local/bin/nats-server"


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


def _own_nats(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    config = folder / "nats.conf"
    config.write_text(
        f"listen: 127.0.0.1:{ports[0]}\nserver_name: bench\n"
        f'jetstream {{ store_dir: "{folder / "js"}" }}\n'
        f"mqtt {{ listen: 127.0.0.1:{ports[1]}, max_ack_pending: 20000 }}\n"
    )
    log = (folder / "nats.log").open("wb")
    broker = subprocess.Popen([NATS_SERVER, "-c", str(config)], stdout=log, stderr=log)
    deadline = time.monotonic() + 10
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", ports[1])) == 0:
                break
        if time.monotonic() > deadline:
            raise SystemExit("nats-server did not start")
        time.sleep(0.05)
    return broker, f"mqtt://127.0.0.1:{ports[1]}"


def _file_rate(lines: list[bytes], folder: Path, run: int) -> tuple[float, float]:
    seconds, cpu_s = file_ingest_s(lines, folder, run)
    return len(lines) / seconds, cpu_s / len(lines) * 1e6


def _mqtt_rate(
    lines: list[bytes], folder: Path, broker_url: str, run: int
) -> tuple[float, float, float]:
    db_url = f"sqlite:///{folder / f'mqtt-{run}.db'}"
    init_store(db_url)
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
        line = bridge.stderr.readline()
        while b" WARNING " in line:  # the fall-back to MQTT 3.1.1
            line = bridge.stderr.readline()
        if not line.startswith(b"bridging "):
            raise SystemExit("the bridge did not start")
        process = psutil.Process(bridge.pid)
        cpu = process.cpu_times()
        began = time.perf_counter()
        sent = publish_events(lines, parse_broker_url(broker_url), "yz1", speed=0)
        published_s = time.perf_counter() - began
        while stored(store) < len(lines):
            time.sleep(0.01)
        stored_s = time.perf_counter() - began
        done = process.cpu_times()
        cpu_s = done.user + done.system - cpu.user - cpu.system
        assert sent.published == len(lines)
    finally:
        store.dispose()
        bridge.send_signal(signal.SIGTERM)
        bridge.wait(30)
    return len(lines) / stored_s, len(lines) / published_s, cpu_s / len(lines) * 1e6


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--days", type=float, default=10.0, help="days of the line to simulate")
    parser.add_argument("--broker", help="use this broker instead of a Mosquitto of our own")
    parser.add_argument("--nats", action="store_true", help="a nats-server of our own (3.1.1)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (best is reported)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    options = parser.parse_args()

    lines = list(event_lines(simulate(load_scenario(DEFAULT_SCENARIO_PATH), days=options.days)))
    file_runs: list[tuple[float, float]] = []
    runs: list[tuple[float, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="linespeed-bench-mqtt-") as workdir:
        folder = Path(workdir)
        broker = None
        broker_url = options.broker
        if broker_url is None:
            broker, broker_url = _own_nats(folder) if options.nats else _own_broker(folder)
        try:
            for run in range(max(1, options.repeat)):
                file_runs.append(_file_rate(lines, folder, run))
                runs.append(_mqtt_rate(lines, folder, broker_url, run))
        finally:
            if broker is not None:
                broker.terminate()
                broker.wait(10)
    file_rates = [rate for rate, _cpu in file_runs]
    file_rate = max(file_rates)
    stored_rate, published_rate, _cpu = max(runs)
    file_cpu_us = min(cpu for _rate, cpu in file_runs)
    bridge_cpu_us = min(cpu for _stored, _sent, cpu in runs)
    figures = {
        "events": len(lines),
        "runs": len(runs),
        "file_ingest_events_per_s": round(file_rate),
        "mqtt_published_events_per_s": round(published_rate),
        "mqtt_stored_events_per_s": round(stored_rate),
        "ratio_mqtt_to_file": round(stored_rate / file_rate, 3),
        "goal": ">= 0.5",
        "file_ingest_cpu_us_per_event": round(file_cpu_us, 1),
        "bridge_cpu_us_per_event": round(bridge_cpu_us, 1),
        "cpu_ratio_file_to_bridge": round(file_cpu_us / bridge_cpu_us, 3),
        "every_run": [
            {
                "file": round(file),
                "mqtt_stored": round(stored),
                "mqtt_published": round(sent),
                "file_cpu_us": round(file_cpu, 1),
                "bridge_cpu_us": round(bridge_cpu, 1),
            }
            for (file, file_cpu), (stored, sent, bridge_cpu) in zip(file_runs, runs, strict=True)
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
    each = ", ".join(f"{stored / file:.2f}" for file, (stored, _sent, _cpu) in pairs)
    print(f"ratio of each run (file and MQTT back to back): {each}")
    print(
        f"CPU per event: file ingest {file_cpu_us:.1f} us, bridge {bridge_cpu_us:.1f} us "
        f"(all its threads); ratio file / bridge {file_cpu_us / bridge_cpu_us:.3f}"
    )


if __name__ == "__main__":
    main()
