"""Live-feed benchmark: /health latency while 200 streams replay from `Last-Event-ID: 0`.

It builds a store with the simulator (`linespeed init` and `linespeed simulate --until-units
N --into-db`, a few thousand completed cars), starts `linespeed serve` as its own process on
loopback, and measures in the same run:

(a) baseline: `GET /api/v1/health` one request at a time, every 10 ms, no stream open;
(b) replay: the same from the moment STREAMS clients open `/api/v1/stream` at once with
    `Last-Event-ID: 0` until every one has read its replay, in ROUNDS rounds (each replays
    at most REPLAY_EVENTS events behind the newest, after a `reset` event); it also reports
    when the last client had its whole replay and the server's CPU seconds;
(c) idle: the same with the STREAMS streams open and nothing new (one shared poll per tick);
    and the server's CPU share with no request at all, with no stream and with STREAMS idle
    streams.

It prints p50/p99 of (b) and (c) as ratios to (a). It only prints figures. The clients are
plain HTTP/1.1 over asyncio sockets, so the load generator costs little of the two cores;
the /health client runs in a thread of its own.

Run:
    .venv/bin/python bench/feed.py                  # 3,000 cars, 200 streams, 5 rounds
    .venv/bin/python bench/feed.py --cars 500 --streams 50   # quick smoke run
    .venv/bin/python bench/feed.py --db sqlite:///bench-data/feed.db   # reuse a store
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from linespeed.access.tokens import create_token
from linespeed.live import REPLAY_EVENTS, feed_after, last_seq
from linespeed.store.engine import connect
from serving import HOST, free_port, percentile, start_server

STREAMS_PER_TOKEN = 10
"""The server's default cap per token: the clients share tokens ten to one."""
HEALTH_GAP_S = 0.01
MIN_SAMPLES = 300


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cars", type=int, default=3_000, help="completed cars in the store")
    parser.add_argument("--streams", type=int, default=200, help="live-feed clients")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of phase (b)")
    parser.add_argument("--idle-s", type=float, default=5.0, help="seconds of each CPU reading")
    parser.add_argument(
        "--db", help="use this store of simulated cars instead of building one (SQLite URL)"
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    return parser.parse_args()


def build_store(folder: Path, cars: int) -> str:
    """A store holding `cars` simulated cars (through the CLI, as a user would); its URL."""
    url = f"sqlite:///{folder / 'feed.db'}"
    linespeed = str(Path(sys.executable).with_name("linespeed"))
    subprocess.run(
        [linespeed, "init", "--simulation", "--db", url], check=True, capture_output=True
    )
    simulate = [linespeed, "simulate", "--until-units", str(cars), "--into-db", "--db", url]
    subprocess.run([*simulate, "--json"], check=True, capture_output=True)
    return url


def health(port: int, stop: threading.Event, minimum: int = MIN_SAMPLES) -> list[float]:
    """`GET /api/v1/health` latencies (ms), one request every HEALTH_GAP_S until `stop` is
    set and `minimum` are taken, over one keep-alive connection. Blocking: it runs in a
    thread of its own, so the stream clients' event loop does not delay it."""
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    latencies: list[float] = []
    while not stop.is_set() or len(latencies) < minimum:
        started = time.perf_counter()
        connection.request("GET", "/api/v1/health")
        connection.getresponse().read()
        latencies.append((time.perf_counter() - started) * 1000)
        time.sleep(HEALTH_GAP_S)
    connection.close()
    return latencies


async def replay(
    port: int, token: str, last_id: int, opened: list[asyncio.StreamWriter]
) -> tuple[float, int]:
    """Open a stream from `Last-Event-ID: 0` and read until the message with id `last_id`;
    the seconds it took and the bytes read. The connection stays open (in `opened`)."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(HOST, port)
    opened.append(writer)
    writer.write(
        f"GET /api/v1/stream?access_token={token} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Last-Event-ID: 0\r\n\r\n".encode()
    )
    headers = await reader.readuntil(b"\r\n\r\n")
    if not headers.startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"a stream was refused: {headers.decode(errors='replace')}")
    needle = b"id: %d\n" % last_id
    tail = b""
    size = 0
    while True:
        data = await reader.read(65536)
        if not data:
            raise SystemExit("a stream ended during its replay")
        size += len(data)
        if needle in tail + data:
            return time.perf_counter() - started, size
        tail = (tail + data)[-64:]


async def measure(
    port: int,
    tokens: list[str],
    last_id: int,
    *,
    rounds: int,
    idle_s: float,
    server: psutil.Process,
) -> dict[str, Any]:
    """Phases (a), (b) and (c) against the server on `port` (process `server`)."""
    done = threading.Event()
    done.set()
    baseline = await asyncio.to_thread(health, port, done)
    quiet_share = await _cpu_share(server, idle_s)

    during: list[float] = []
    replays: list[tuple[float, int]] = []
    replay_cpu_s = 0.0
    for round_number in range(rounds):
        opened: list[asyncio.StreamWriter] = []
        replays_done = threading.Event()
        cpu_before = _cpu_s(server.cpu_times())
        sampler = asyncio.create_task(asyncio.to_thread(health, port, replays_done, 1))
        clients = [
            replay(port, tokens[number // STREAMS_PER_TOKEN], last_id, opened)
            for number in range(len(tokens) * STREAMS_PER_TOKEN)
        ]
        replays += await asyncio.gather(*clients)
        replays_done.set()
        during += await sampler
        replay_cpu_s += _cpu_s(server.cpu_times()) - cpu_before
        if round_number < rounds - 1:
            for writer in opened:
                writer.close()
            await asyncio.sleep(1.0)  # the server lets the streams go

    await asyncio.sleep(1.0)  # the replays' last sends are over
    idle_share = await _cpu_share(server, idle_s)
    quiet = threading.Event()
    sampler = asyncio.create_task(asyncio.to_thread(health, port, quiet))
    await asyncio.sleep(idle_s)
    quiet.set()
    idle = await sampler
    for writer in opened:
        writer.close()
    return {
        "baseline": baseline,
        "replay": during,
        "idle": idle,
        "replays": replays,
        "replay_cpu_s": replay_cpu_s,
        "idle_cpu_share": idle_share,
        "quiet_cpu_share": quiet_share,
    }


async def _cpu_share(server: psutil.Process, seconds: float) -> float:
    """The share of a core `server` uses over the next `seconds` (no request sent)."""
    before, started = _cpu_s(server.cpu_times()), time.perf_counter()
    await asyncio.sleep(seconds)
    return (_cpu_s(server.cpu_times()) - before) / (time.perf_counter() - started)


def main() -> None:
    """Build the store, start the server, run the three phases, print the figures."""
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="linespeed-bench-feed-") as folder:
        workdir = Path(folder)
        if args.db:
            url = args.db
        else:
            print(f"building a store of {args.cars:,} simulated cars ...", flush=True)
            url = build_store(workdir, args.cars)
        engine = connect(url)
        newest = last_seq(engine)
        messages, _ = feed_after(engine, max(0, newest - REPLAY_EVENTS), limit=REPLAY_EVENTS)
        everything, _ = feed_after(engine, 0, limit=10**9)
        streams = -(-args.streams // STREAMS_PER_TOKEN) * STREAMS_PER_TOKEN
        tokens = [
            create_token(engine, "viewer", label=f"bench {number}").token
            for number in range(streams // STREAMS_PER_TOKEN)
        ]
        engine.dispose()
        port = free_port()
        server = start_server(url, port, workdir)
        try:
            figures = asyncio.run(
                measure(
                    port,
                    tokens,
                    messages[-1].seq,
                    rounds=args.rounds,
                    idle_s=args.idle_s,
                    server=psutil.Process(server.pid),
                )
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
    report(args, newest, len(messages), len(everything), streams, figures)


def _cpu_s(times: Any) -> float:
    return float(times.user + times.system)


def report(
    args: argparse.Namespace,
    newest: int,
    replayed: int,
    total: int,
    streams: int,
    figures: dict[str, Any],
) -> None:
    """Print the figures (and JSON on request)."""
    base = figures["baseline"]
    base_p50, base_p99 = statistics.median(base), percentile(base, 0.99)
    cpu_replay = figures["replay_cpu_s"]
    slowest_s = max(seconds for seconds, _ in figures["replays"])
    sent = sum(size for _, size in figures["replays"]) / args.rounds
    result: dict[str, Any] = {
        "events": newest,
        "feed_messages_in_store": total,
        "replay_events": REPLAY_EVENTS,
        "messages_per_replay": replayed,
        "streams": streams,
        "baseline_p50_ms": round(base_p50, 2),
        "baseline_p99_ms": round(base_p99, 2),
        "replay_all_done_s": round(slowest_s, 2),
        "replay_bytes_per_round": round(sent),
        "replay_rounds": args.rounds,
        "replay_server_cpu_s_per_round": round(cpu_replay / args.rounds, 2),
        "idle_server_cpu_share": round(figures["idle_cpu_share"], 3),
        "no_stream_server_cpu_share": round(figures["quiet_cpu_share"], 3),
    }
    print(
        f"store: {newest:,} events, {total:,} feed messages; a replay from 0 carries the last "
        f"{REPLAY_EVENTS:,} events: {replayed:,} messages"
    )
    print(f"(a) /health, no stream open:      p50 {base_p50:7.2f} ms   p99 {base_p99:7.2f} ms")
    phases = (("replay", f"(b) {streams} streams replaying:"), ("idle", "(c) ... idle:"))
    for phase, label in phases:
        samples = figures[phase]
        p50, p99 = statistics.median(samples), percentile(samples, 0.99)
        result[f"{phase}_p50_ms"] = round(p50, 2)
        result[f"{phase}_p99_ms"] = round(p99, 2)
        result[f"{phase}_p99_over_baseline"] = round(p99 / base_p99, 2)
        result[f"{phase}_max_ms"] = round(max(samples), 2)
        print(
            f"{label:<33} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   "
            f"= {p50 / base_p50:.2f} x / {p99 / base_p99:.2f} x baseline  "
            f"(max {max(samples):.2f} ms, {len(samples)} requests)"
        )
    print(
        f"in each of {args.rounds} rounds, every stream had its replay within {slowest_s:.2f} s "
        f"({sent / 1e6:.1f} MB a round; server CPU {cpu_replay / args.rounds:.2f} s a round)"
    )
    print(
        f"server CPU with no request: {figures['quiet_cpu_share']:.1%} of a core with no stream, "
        f"{figures['idle_cpu_share']:.1%} with {streams} idle streams"
    )
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
