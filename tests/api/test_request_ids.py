"""Every API request has an id: answered in `X-Request-ID`, kept in its audit record, and on
every log line written while it is handled (`serve --log-format json|text`)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from linespeed.access.audit import list_audit
from linespeed.access.tokens import create_token

LINESPEED = str(Path(sys.executable).with_name("linespeed"))


def test_each_request_is_answered_with_its_id(client: TestClient) -> None:
    first = client.get("/api/v1/health").headers["X-Request-ID"]
    second = client.get("/api/v1/health").headers["X-Request-ID"]
    assert len(first) == 32 and int(first, 16) >= 0
    assert first != second
    given = client.get("/api/v1/health", headers={"X-Request-ID": "proxy:7f3a-01"})
    assert given.headers["X-Request-ID"] == "proxy:7f3a-01"
    for unsafe in ("two words", "x" * 65, 'a"b', '{"json": 1}'):
        answered = client.get("/api/v1/health", headers={"X-Request-ID": unsafe})
        assert answered.headers["X-Request-ID"] != unsafe


def test_a_write_s_audit_record_names_its_request(client: TestClient, store: Engine) -> None:
    token = create_token(store, "operator").token
    posted = client.post(
        "/api/v1/events",
        content=b'{"kind": "nope"}',
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-audit-1"},
    )
    assert posted.status_code >= 400
    (entry,) = list_audit(store, limit=1)
    assert (entry.request_id, entry.path) == ("req-audit-1", "/api/v1/events")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _served_log(db_url: str, log_format: str, request_id: str) -> str:
    """What `serve --log-format FORMAT` logs for one GET that carries `request_id`."""
    port = _free_port()
    server = subprocess.Popen(
        [LINESPEED, "serve", "--db", db_url, "--port", str(port), "--log-format", log_format],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(
                    f"http://127.0.0.1:{port}/api/v1/health",
                    headers={"X-Request-ID": request_id},
                    timeout=1,
                )
                break
            except httpx.ConnectError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert answer.headers["X-Request-ID"] == request_id
    finally:
        server.send_signal(signal.SIGINT)
        _, logged = server.communicate(timeout=30)
    return logged


@pytest.mark.slow
def test_serve_logs_its_access_lines_as_json_with_the_request_id(
    store: Engine, db_url: str
) -> None:
    logged = _served_log(db_url, "json", "req-json-1")
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("request_id") == "req-json-1"]
    assert access, logged
    (line,) = access
    assert line["logger"] == "uvicorn.access"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/v1/health", 200)
    assert line["level"] == "info" and line["at"].endswith("+00:00")


@pytest.mark.slow
def test_serve_logs_text_lines_with_the_request_id(store: Engine, db_url: str) -> None:
    logged = _served_log(db_url, "text", "req-text-1")
    (line,) = [line for line in logged.splitlines() if line.endswith(" request=req-text-1")]
    assert "INFO uvicorn.access" in line and '"GET /api/v1/health HTTP/1.1" 200' in line
