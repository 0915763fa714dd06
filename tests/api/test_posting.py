"""Posting events: a failing request never fails the good ones grouped with it; bodies are
counted while read and split off the event loop; hostile bodies get a 4xx (on SQLite and
PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from linespeed.api import ApiSettings, create_app, posting
from linespeed.api.errors import PayloadTooLargeError
from linespeed.api.posting import read_body, stations_of
from linespeed.store.schema import events
from tests.api.conftest import Tokens
from tests.api.test_writer import _Faulty
from tests.backends import any_db_url, backend

__all__ = ["any_db_url", "backend"]

OVERFLOWING = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-01:00")


def _state(event_id: str, ts: str = "2025-06-30T12:00:00+08:00") -> dict[str, Any]:
    return {"id": event_id, "kind": "station.state", "ts": ts, "station": "ga-090",
            "state": "running"}  # fmt: skip


def _stored_ids(store: Engine) -> set[str]:
    with store.connect() as connection:
        return set(connection.execute(select(events.c.event_id)).scalars())


def test_good_posts_grouped_with_a_failing_one_are_answered_200_and_stored(
    store: Engine, tokens: Tokens
) -> None:
    before = _stored_ids(store)
    app = create_app(store, ApiSettings(live_window=None))
    writer = app.state.poster.writer
    ingestor = _Faulty(store, RecursionError("maximum recursion depth exceeded"))
    writer.ingestor = ingestor
    headers = tokens.header("operator")
    bodies = [[_state(f"group-{n}-{k}") for k in range(3)] for n in range(4)]
    bodies.insert(2, [_state("group-bad-1"), _state("poison")])
    with (
        TestClient(app, raise_server_exceptions=False) as client,
        ThreadPoolExecutor(max_workers=6) as pool,
    ):
        gate = pool.submit(client.post, "/api/v1/events", json=_state("gate"), headers=headers)
        assert ingestor.entered.wait(timeout=30)
        posts = [
            pool.submit(client.post, "/api/v1/events", json=body, headers=headers)
            for body in bodies
        ]
        deadline = time.monotonic() + 30
        while writer._queue.qsize() < len(bodies) and time.monotonic() < deadline:
            time.sleep(0.01)
        ingestor.opened.set()
        answers = [post.result(timeout=30) for post in posts]
        assert gate.result(timeout=30).status_code == 200
    assert ingestor.batch_sizes[1] == 14  # the five requests were one transaction first
    failed = answers.pop(2)
    assert failed.status_code == 500
    assert [answer.status_code for answer in answers] == [200] * 4
    assert all(answer.json()["accepted"] == 3 for answer in answers)
    good = {f"group-{n}-{k}" for n in range(4) for k in range(3)}
    assert _stored_ids(store) - before == good | {"gate"}


@pytest.mark.slow
@pytest.mark.parametrize("ts", OVERFLOWING)
@pytest.mark.parametrize("role", ["operator", "ga090"])
def test_an_overflowing_timestamp_is_a_4xx_and_fails_nothing_else(
    client: TestClient, tokens: Tokens, store: Engine, ts: str, role: str
) -> None:
    headers = tokens.header(role)
    bad = client.post("/api/v1/events", json=[_state("far-1", ts)], headers=headers)
    assert bad.status_code == 422, bad.text
    assert bad.json()["reasons"] == {"ts.out_of_range": 1}
    good = client.post("/api/v1/events", json=[_state("near-1")], headers=headers)
    assert good.status_code == 200 and good.json()["accepted"] == 1
    assert "far-1" not in _stored_ids(store)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        (b"[" + b"[" * 5_000 + b"]" * 5_000 + b"]", "application/json"),
        (b'{"id": "d", "x": ' + b"[" * 5_000 + b"]" * 5_000 + b"}", "application/json"),
        (b'{"id": "ok"}\n' + b"{" * 5_000 + b"\n", "application/x-ndjson"),
        (b'{"id": "ok"}\n[' + b"[" * 5_000 + b"]" * 5_001 + b"\n", "application/x-ndjson"),
    ],
)
@pytest.mark.parametrize("role", ["operator", "ga090"])
@pytest.mark.slow
def test_a_body_nested_too_deeply_is_400(
    client: TestClient, tokens: Tokens, store: Engine, body: bytes, content_type: str, role: str
) -> None:
    before = _stored_ids(store)
    headers = {**tokens.header(role), "Content-Type": content_type}
    answer = client.post("/api/v1/events", content=body, headers=headers)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] in ("request.too_deep", "request.malformed_json")
    assert _stored_ids(store) == before
    assert client.get("/api/v1/health").status_code == 200


def test_the_body_is_split_and_checked_off_the_event_loop(
    client: TestClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_loop: list[bool] = []
    split, check = posting.split_payloads, posting.stations_of

    def running_loop() -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    def spying_split(body: bytes, content_type: str | None) -> list[bytes]:
        on_loop.append(running_loop())
        return split(body, content_type)

    def spying_check(payloads: list[bytes]) -> list[str | None]:
        on_loop.append(running_loop())
        return check(payloads)

    monkeypatch.setattr(posting, "split_payloads", spying_split)
    monkeypatch.setattr(posting, "stations_of", spying_check)
    answer = client.post("/api/v1/events", json=[_state("off-1")], headers=tokens.header("ga090"))
    assert answer.status_code == 200
    assert on_loop == [False, False]


def test_stations_are_read_without_decoding_the_events() -> None:
    deep = b"[" * 900 + b"]" * 900
    payloads = [
        b'{"kind": "station.state", "station": "ga-090", "ts": "0001-01-01T00:00:00+14:00"}',
        b'{"kind": "unit.started", "vin": "x"}',
        b'{"kind": "defect.closed", "station": null}',
        b'{"kind": "station.state"}',  # needs a station: ingest refuses it
        b'{"kind": "nope"}',
        b'{"kind": "station.state", "station": 7}',
        b'{"kind": "station.state", "station": ' + deep + b"}",
        b'{"kind": "station.state", "x": ' + deep + b', "station": "ga-120"}',
        b"[]",
        b"17",
    ]
    assert stations_of(payloads) == ["ga-090", None, None, "ga-120"]


async def _chunks(sizes: list[int], pulled: list[int]) -> AsyncIterator[bytes]:
    for size in sizes:
        pulled.append(size)
        yield b"x" * size


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    pulled: list[int] = []
    with pytest.raises(PayloadTooLargeError, match="body of 1025 bytes; at most 1024"):
        asyncio.run(read_body(_chunks([10], pulled), "1025", 1024))
    assert pulled == []


def test_an_undeclared_body_stops_being_read_at_the_limit() -> None:
    pulled: list[int] = []
    with pytest.raises(PayloadTooLargeError, match="over 1024 bytes"):
        asyncio.run(read_body(_chunks([400] * 100, pulled), None, 1024))
    assert pulled == [400, 400, 400]
    assert asyncio.run(read_body(_chunks([512, 512], []), "²", 1024)) == b"x" * 1024
