"""`linespeed serve` as a person starts it: it answers, serves the page, and stops cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

pytestmark = pytest.mark.slow

LINESPEED = str(Path(sys.executable).with_name("linespeed"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_answers_and_stops_on_sigint(store: Engine, db_url: str) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [LINESPEED, "serve", "--db", db_url, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.1)
        assert health.json()["status"] == "ok"
        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200 and "uPlot.iife.min.js" in page.text
        vendored = httpx.get(f"http://127.0.0.1:{port}/static/vendor/uplot/uPlot.iife.min.js")
        assert vendored.status_code == 200 and len(vendored.content) > 10_000
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=15)
    # uvicorn ends as Ctrl-C does: 130, or killed by SIGINT as its handler is restored
    assert server.returncode in (0, 130, -signal.SIGINT), err.decode()
    assert b"Traceback" not in err
    assert f"http://127.0.0.1:{port}/" in out.decode()


def test_serve_refuses_a_database_that_was_never_set_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    done = subprocess.run([LINESPEED, "serve", "--db", url], capture_output=True, timeout=60)
    assert done.returncode == 1
    assert b"linespeed init" in done.stderr


def test_serve_takes_the_tokenless_limit_from_options_and_environment(
    store: Engine, db_url: str
) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [LINESPEED, "serve", "--db", db_url, "--port", str(port), "--tokenless-rate", "0.001"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "LINESPEED_TOKENLESS_BURST": "2"},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.1)
        answers = [httpx.post(f"http://127.0.0.1:{port}/api/v1/events", json={}) for _ in range(3)]
        assert [answer.status_code for answer in answers] == [401, 401, 429]
        assert answers[2].json()["error"] == "request.rate_limited"
        assert 900 <= int(answers[2].headers["Retry-After"]) <= 1000
        assert answers[2].headers["X-Frame-Options"] == "DENY"
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=15)
    assert b"rate limit: refused 1 write requests without a valid token from 127.0.0.1" in err
