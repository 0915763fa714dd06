"""API benchmark: batch ingest over HTTP against file ingest, and single-event POST latency.

It generates valid events of the example stream on the bundled plant and measures in the
same run:

(a) file ingest: the events written to a JSONL file and ingested in-process with
    `ingest_files` in batches of 1,000 into a fresh SQLite store (the baseline);
(b) HTTP batches: `linespeed serve` started as its own process on loopback over another
    fresh store, and the same events POSTed as JSON arrays of 1,000 by one client;
(c) single events: station state changes POSTed one per request, sent open-loop at a
    steady 200 requests/s over up to 32 connections (as many stations would: a request
    does not wait for the previous answer); latency is counted from each request's
    scheduled time, so queueing in the server is not hidden. (State changes may arrive in
    any order; a car's own events may not, so they are not sent concurrently.)

(d) /health under load: `GET /api/v1/health` sent open-loop at 20 requests/s, first with
    no other load (the baseline), then while six clients (each its own process) post
    maximum-size bodies: 16 MiB JSON arrays of 20,000 valid station-state events each,
    back to back. Latency is counted from each probe's scheduled time; the server's
    peak resident memory is read from /proc.

It prints the rates, the ratio b/a, the p50/p99 latency of (c), and the /health p50/p99 of
(d) beside its baseline, against the goals (batches >= 20,000 events/s; single POST p99 <=
10 ms; /health p99 under load < 100 ms). It only prints figures.

Run:
    .venv/bin/python bench/api.py                    # 100,000 events, 2,000 single POSTs
    .venv/bin/python bench/api.py --events 20000 --singles 400   # quick smoke run
    .venv/bin/python bench/api.py --load-only        # (d) alone
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import httpx
import msgspec

from linespeed.access.tokens import create_token
from linespeed.events.codec import encode_event
from linespeed.ingest.core import Ingestor
from linespeed.ingest.files import ingest_files
from linespeed.plant.load import DEFAULT_PLANT_PATH, load_plant
from linespeed.sim.example import ExampleSettings, example_events
from linespeed.store.engine import connect, migrate
from linespeed.store.plants import save_plant
from serving import free_port, percentile, start_server

BATCH = 1_000
RATE_PER_S = 200
CONNECTIONS = 32
GOAL_BATCH_EVENTS_PER_S = 20_000
GOAL_SINGLE_P99_MS = 10.0
LOAD_CLIENTS = 6
LOAD_EVENTS = 20_000
LOAD_BODY_BYTES = 16 * 1024 * 1024 - 4096
HEALTH_RATE_PER_S = 20
GOAL_HEALTH_P99_MS = 100.0


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="events for (a) and (b)")
    parser.add_argument("--singles", type=int, default=2_000, help="single POSTs for (c)")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument(
        "--load-rounds", type=int, default=2, help="maximum-size bodies each client posts in (d)"
    )
    parser.add_argument("--load-only", action="store_true", help="measure (d) alone")
    return parser.parse_args()


def new_store(path: Path) -> str:
    """A fresh, migrated SQLite store with the bundled plant; its URL."""
    url = f"sqlite:///{path}"
    engine = connect(url)
    migrate(engine)
    save_plant(engine, load_plant(DEFAULT_PLANT_PATH), "default.yaml")
    engine.dispose()
    return url


def main() -> None:
    """Run the measurements and print the figures."""
    args = parse_args()
    if not args.load_only:
        measure_ingest(args)
    measure_health_under_load(args)


def measure_ingest(args: argparse.Namespace) -> None:
    """(a), (b) and (c): print their figures."""
    plant = load_plant(DEFAULT_PLANT_PATH)
    per_car = len(plant.lines[0].stations) + 3
    stream = example_events(plant, ExampleSettings(cars=args.events // per_car + 2, ship=True))
    batch_part = [encode_event(event) for event in islice(stream, args.events)]
    stations = [station.id for station in plant.lines[0].stations]
    single_part = [
        msgspec.json.encode(
            {
                "id": f"bench-state-{number}",
                "kind": "station.state",
                "ts": f"2025-07-01T08:{number // 60 % 60:02d}:{number % 60:02d}+08:00",
                "station": stations[number % len(stations)],
                "state": ("running", "starved", "blocked")[number % 3],
            }
        )
        for number in range(args.singles)
    ]

    with tempfile.TemporaryDirectory(prefix="linespeed-bench-api-") as folder:
        workdir = Path(folder)
        events_file = workdir / "events.jsonl"
        events_file.write_bytes(b"\n".join(batch_part) + b"\n")

        file_url = new_store(workdir / "file.db")
        started = time.perf_counter()
        file_report = ingest_files(Ingestor(connect(file_url)), [events_file], batch_size=BATCH)
        file_s = time.perf_counter() - started

        api_url = new_store(workdir / "api.db")
        engine = connect(api_url)
        operator = create_token(engine, "operator").token
        engine.dispose()
        port = free_port()
        # the example cars are dated 2025: no age limit for them
        server = start_server(api_url, port, workdir, "--max-age-days", "0")
        try:
            figures = measure_http(port, operator, batch_part, single_part)
        finally:
            server.terminate()
            server.wait(timeout=30)

    file_rate = len(batch_part) / file_s
    batch_rate = len(batch_part) / figures["batch_s"]
    latencies = figures["latencies_ms"]
    p50 = statistics.median(latencies) if latencies else float("nan")
    p99 = percentile(latencies, 0.99)
    result: dict[str, Any] = {
        "events": len(batch_part),
        "file_accepted": file_report.accepted,
        "file_events_per_s": round(file_rate),
        "http_accepted": figures["accepted"],
        "http_batch_events_per_s": round(batch_rate),
        "http_over_file": round(batch_rate / file_rate, 3),
        "single_posts": len(latencies),
        "single_accepted": figures["single_accepted"],
        "single_rate_per_s": round(figures["single_rate"], 1),
        "single_p50_ms": round(p50, 2),
        "single_p99_ms": round(p99, 2),
    }
    print(f"file ingest (batches of {BATCH}):   {file_rate:>10,.0f} events/s")
    print(
        f"HTTP batches of {BATCH}:           {batch_rate:>10,.0f} events/s  "
        f"= {batch_rate / file_rate:.2f} x file  (goal >= {GOAL_BATCH_EVENTS_PER_S:,} events/s: "
        f"{'met' if batch_rate >= GOAL_BATCH_EVENTS_PER_S else 'NOT met'})"
    )
    print(
        f"single POST at {figures['single_rate']:.0f}/s ({len(latencies)} requests): "
        f"p50 {p50:.2f} ms, p99 {p99:.2f} ms  (goal p99 <= {GOAL_SINGLE_P99_MS} ms: "
        f"{'met' if p99 <= GOAL_SINGLE_P99_MS else 'NOT met'})"
    )
    if figures["accepted"] != len(batch_part) or file_report.accepted != len(batch_part):
        print("!!! WARNING: not every event was accepted; the figures are not comparable")
    if args.json:
        print(json.dumps(result))


def measure_http(
    port: int, token: str, batch_part: list[bytes], single_part: list[bytes]
) -> dict[str, Any]:
    """POST the batches, then the single events at RATE_PER_S; times and outcomes."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    accepted = 0
    # No Nagle: a request's headers and body leave at once instead of waiting for an ACK.
    transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60, transport=transport
    ) as client:
        bodies = [
            b"[" + b",".join(batch_part[at : at + BATCH]) + b"]"
            for at in range(0, len(batch_part), BATCH)
        ]
        started = time.perf_counter()
        for body in bodies:
            answer = client.post("/api/v1/events", content=body)
            accepted += answer.json().get("accepted", 0)
        batch_s = time.perf_counter() - started

    latencies, single_accepted, single_s = asyncio.run(post_singles(port, token, single_part))
    return {
        "batch_s": batch_s,
        "accepted": accepted,
        "latencies_ms": latencies,
        "single_accepted": single_accepted,
        "single_rate": len(single_part) / single_s if single_s else 0.0,
    }


async def post_singles(
    port: int, token: str, payloads: list[bytes]
) -> tuple[list[float], int, float]:
    """POST each payload at its scheduled time (RATE_PER_S), not waiting for answers.

    A plain HTTP/1.1 client over a pool of keep-alive connections (a Python HTTP library
    would cost the client more CPU than the server spends, on the same two cores).
    Returns the latencies (ms, from the scheduled time), the events accepted, the seconds.
    """
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(CONNECTIONS):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.transport.get_extra_info("socket").setsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
        )
        pool.put_nowait((reader, writer))
    head = (
        "POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
    ).encode()
    latencies: list[float] = []
    accepted = 0

    async def post(scheduled: float, payload: bytes) -> None:
        nonlocal accepted
        reader, writer = await pool.get()
        writer.write(head + b"Content-Length: %d\r\n\r\n" % len(payload) + payload)
        headers = await reader.readuntil(b"\r\n\r\n")
        length = int(headers.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        body = await reader.readexactly(length)
        latencies.append((time.perf_counter() - scheduled) * 1000)
        pool.put_nowait((reader, writer))
        accepted += json.loads(body).get("accepted", 0)

    begin = time.perf_counter() + 0.05
    sent = []
    for number, payload in enumerate(payloads):
        scheduled = begin + number / RATE_PER_S
        wait = scheduled - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        sent.append(asyncio.create_task(post(scheduled, payload)))
    await asyncio.gather(*sent)
    elapsed = time.perf_counter() - begin
    while not pool.empty():
        _, writer = pool.get_nowait()
        writer.close()
    return latencies, accepted, elapsed


def load_body(client: int, round_no: int, stations: list[str]) -> bytes:
    """A JSON array of LOAD_EVENTS valid station-state events, padded with JSON whitespace
    to LOAD_BODY_BYTES (each event's id and reason as long as the contract allows)."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    per_event = LOAD_BODY_BYTES // LOAD_EVENTS - 1
    items = []
    for number in range(LOAD_EVENTS):
        event = msgspec.json.encode(
            {
                "id": f"load-{client}-{round_no}-{number:06d}-".ljust(128, "x"),
                "kind": "station.state",
                "ts": now,
                "station": stations[number % len(stations)],
                "state": ("running", "starved", "blocked")[number % 3],
                "reason": "r" * 200,
            }
        )
        items.append(b"{" + b" " * max(0, per_event - len(event)) + event[1:])
    return b"[" + b",".join(items) + b"]"


def post_load(
    port: int, token: str, client: int, rounds: int, stations: list[str], ready: Any, go: Any
) -> tuple[int, list[int], float]:
    """One loading client (its own process): build its bodies, wait for `go`, post them
    back to back; returns the events accepted, the statuses and the seconds it took."""
    bodies = [load_body(client, round_no, stations) for round_no in range(rounds)]
    ready.put(client)
    go.wait()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    accepted, statuses = 0, []
    started = time.perf_counter()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=300) as http:
        for body in bodies:
            answer = http.post("/api/v1/events", content=body)
            statuses.append(answer.status_code)
            if answer.status_code == 200:
                accepted += msgspec.json.decode(answer.content, type=_Accepted).accepted
    return accepted, statuses, time.perf_counter() - started


class _Accepted(msgspec.Struct):
    accepted: int = 0


async def probe_health(port: int, until: Callable[[], bool], at_least: int) -> list[float]:
    """GET /health at HEALTH_RATE_PER_S, open-loop, at least `at_least` times and until
    `until()` is true; the latencies (ms, from each probe's scheduled time)."""
    latencies: list[float] = []
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(8):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    request = b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    async def probe(scheduled: float) -> None:
        reader, writer = await pool.get()
        writer.write(request)
        headers = await reader.readuntil(b"\r\n\r\n")
        length = int(headers.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        latencies.append((time.perf_counter() - scheduled) * 1000)
        pool.put_nowait((reader, writer))

    begin = time.perf_counter() + 0.05
    sent = []
    number = 0
    while number < at_least or not until():
        scheduled = begin + number / HEALTH_RATE_PER_S
        wait = scheduled - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        sent.append(asyncio.create_task(probe(scheduled)))
        number += 1
    await asyncio.gather(*sent)
    while not pool.empty():
        _, writer = pool.get_nowait()
        writer.close()
    return latencies


def server_memory_mb(pid: int) -> tuple[float, float]:
    """The server's resident memory now and at its peak (MiB), from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.split()[0] if value.split() else "0"
    return int(fields.get("VmRSS", 0)) / 1024, int(fields.get("VmHWM", 0)) / 1024


def measure_health_under_load(args: argparse.Namespace) -> None:
    """(d): /health p50/p99 with no load, then while LOAD_CLIENTS clients post maximum-size
    bodies; print the figures."""
    plant = load_plant(DEFAULT_PLANT_PATH)
    stations = [station.id for station in plant.lines[0].stations]
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="linespeed-bench-api-load-") as folder:
        workdir = Path(folder)
        url = new_store(workdir / "load.db")
        engine = connect(url)
        operator = create_token(engine, "operator").token
        engine.dispose()
        port = free_port()
        server = start_server(url, port, workdir)
        try:
            baseline = asyncio.run(probe_health(port, lambda: True, 5 * HEALTH_RATE_PER_S))
            rss_before, _ = server_memory_mb(server.pid)
            with (
                context.Manager() as manager,
                ProcessPoolExecutor(LOAD_CLIENTS, mp_context=context) as pool,
            ):
                ready, go = manager.Queue(), manager.Event()
                clients = [
                    pool.submit(post_load, port, operator, n, args.load_rounds, stations, ready, go)
                    for n in range(LOAD_CLIENTS)
                ]
                for _ in clients:
                    ready.get(timeout=600)
                go.set()
                loaded = asyncio.run(
                    probe_health(port, lambda: all(c.done() for c in clients), HEALTH_RATE_PER_S)
                )
                results = [client.result() for client in clients]
            _, rss_peak = server_memory_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    accepted = sum(result[0] for result in results)
    statuses = sorted({status for result in results for status in result[1]})
    load_s = max(result[2] for result in results)
    base_p50, base_p99 = statistics.median(baseline), percentile(baseline, 0.99)
    p50, p99 = statistics.median(loaded), percentile(loaded, 0.99)
    posted = LOAD_CLIENTS * args.load_rounds
    print(
        f"/health with no load ({len(baseline)} probes at {HEALTH_RATE_PER_S}/s): "
        f"p50 {base_p50:.2f} ms, p99 {base_p99:.2f} ms"
    )
    print(
        f"/health while {LOAD_CLIENTS} clients post {posted} bodies of "
        f"{LOAD_BODY_BYTES / 2**20:.1f} MiB ({LOAD_EVENTS:,} events each; {len(loaded)} "
        f"probes over {load_s:.1f} s): p50 {p50:.2f} ms, p99 {p99:.2f} ms  "
        f"(goal p99 < {GOAL_HEALTH_P99_MS:.0f} ms: "
        f"{'met' if p99 < GOAL_HEALTH_P99_MS else 'NOT met'})"
    )
    print(
        f"  accepted {accepted:,} of {posted * LOAD_EVENTS:,} events "
        f"({accepted / load_s:,.0f} events/s), statuses {statuses}; server memory "
        f"{rss_before:.0f} MiB before, peak {rss_peak:.0f} MiB"
    )
    if args.json:
        print(
            json.dumps(
                {
                    "health_base_p50_ms": round(base_p50, 2),
                    "health_base_p99_ms": round(base_p99, 2),
                    "health_load_p50_ms": round(p50, 2),
                    "health_load_p99_ms": round(p99, 2),
                    "load_accepted": accepted,
                    "load_events_per_s": round(accepted / load_s),
                    "server_rss_peak_mb": round(rss_peak),
                }
            )
        )


if __name__ == "__main__":
    main()
