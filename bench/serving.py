"""What the HTTP benchmarks share: a free loopback port, `linespeed serve` as a process of its
own, and the nearest-rank percentile of latencies."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

HOST = "127.0.0.1"


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(url: str, port: int, workdir: Path, *options: str) -> subprocess.Popen[bytes]:
    """`linespeed serve [options]` on loopback as its own process, once it answers /health."""
    linespeed = Path(sys.executable).with_name("linespeed")
    log = (workdir / "serve.log").open("wb")
    server = subprocess.Popen(
        [str(linespeed), "serve", "--db", url, "--host", HOST, "--port", str(port), *options],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://{HOST}:{port}/api/v1/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the server did not start:\n" + (workdir / "serve.log").read_text()[-3000:])


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of `values` (NaN for none)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]
