"""The API's own defences: tokenless writes rate-limited per address, audit paths cut to 512
characters, one plain 401, security headers on every answer, no CDN docs page (on SQLite
and PostgreSQL where the store is touched)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from linespeed.access.audit import MAX_PATH_CHARS, cut_path, list_audit
from linespeed.access.ratelimit import RateLimiter, RefusalLog, client_key
from linespeed.access.tokens import revoke_token
from linespeed.api import ApiSettings, create_app
from linespeed.api.middleware import SECURITY_HEADERS
from linespeed.store.schema import audit_log, events
from tests.api.conftest import Tokens
from tests.backends import any_db_url, backend

__all__ = ["any_db_url", "backend"]

LONG_PATH = "/api/v1/events/" + "x" * 60_000
STATE = {
    "id": "limit-1",
    "kind": "station.state",
    "ts": "2025-06-30T12:00:00+08:00",
    "station": "ga-090",
    "state": "running",
}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _audit_rows(store: Engine) -> int:
    with store.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(audit_log)).scalar_one())


@pytest.fixture
def quiet_limit_client(store: Engine) -> Iterator[TestClient]:
    """A client of an app that lets an address make 3 tokenless writes, then 1 an hour."""
    settings = ApiSettings(tokenless_burst=3, tokenless_per_s=1 / 3600, live_window=None)
    with TestClient(create_app(store, settings), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.slow
def test_a_flood_of_tokenless_posts_adds_a_bounded_number_of_short_audit_rows(
    client: TestClient, store: Engine
) -> None:
    settings = ApiSettings(live_window=None)  # the example cars are dated 2025
    before = _audit_rows(store)
    started = time.monotonic()
    statuses = [client.post(LONG_PATH, json=STATE).status_code for _ in range(1000)]
    elapsed_s = time.monotonic() - started
    added = _audit_rows(store) - before
    bound = settings.tokenless_burst + math.ceil(elapsed_s * settings.tokenless_per_s)
    assert settings.tokenless_burst <= added <= bound
    assert statuses.count(429) == 1000 - added
    entries = list_audit(store, limit=1000)
    assert entries and all(len(entry.path) <= MAX_PATH_CHARS for entry in entries)
    assert all(entry.path.endswith("[cut from 60015 chars]") for entry in entries)


def test_a_refused_post_says_when_to_retry_and_stores_nothing(
    quiet_limit_client: TestClient, store: Engine
) -> None:
    for _ in range(3):
        assert quiet_limit_client.post("/api/v1/events", json=STATE).status_code == 401
    before = _audit_rows(store)
    answer = quiet_limit_client.post("/api/v1/events", json=STATE)
    assert answer.status_code == 429
    assert answer.json()["error"] == "request.rate_limited"
    assert "retry in" in answer.json()["detail"]
    assert 3000 <= int(answer.headers["Retry-After"]) <= 3600
    assert _audit_rows(store) == before
    with store.connect() as connection:
        assert connection.execute(select(func.count()).select_from(events)).scalar_one() > 0
    # reading needs no write budget
    assert quiet_limit_client.get("/api/v1/health").status_code == 200


@pytest.mark.slow
def test_a_client_with_a_valid_token_is_never_rate_limited(
    quiet_limit_client: TestClient, tokens: Tokens, store: Engine
) -> None:
    bogus = {"Authorization": "Bearer ls_not-a-token"}
    answers = [
        quiet_limit_client.post("/api/v1/events", json=STATE, headers=bogus) for _ in range(6)
    ]
    assert [a.status_code for a in answers] == [401, 401, 401, 429, 429, 429]
    for n in range(30):
        event = {**STATE, "id": f"limit-ok-{n}"}
        answer = quiet_limit_client.post(
            "/api/v1/events", json=event, headers=tokens.header("operator")
        )
        assert answer.status_code == 200, answer.text
    viewer = quiet_limit_client.post("/api/v1/events", json=STATE, headers=tokens.header("viewer"))
    assert viewer.status_code == 403
    with store.connect() as connection:
        ids = set(connection.execute(select(events.c.event_id)).scalars())
    assert {f"limit-ok-{n}" for n in range(30)} <= ids


@pytest.mark.slow
def test_tokened_writes_do_not_use_up_the_tokenless_budget(
    quiet_limit_client: TestClient, tokens: Tokens
) -> None:
    for n in range(10):
        event = {**STATE, "id": f"budget-{n}"}
        answer = quiet_limit_client.post(
            "/api/v1/events", json=event, headers=tokens.header("operator")
        )
        assert answer.status_code == 200
    tokenless = [quiet_limit_client.post("/api/v1/events", json=STATE) for _ in range(4)]
    assert [a.status_code for a in tokenless] == [401, 401, 401, 429]


def test_refusals_are_logged_once_a_minute_per_address(
    quiet_limit_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="linespeed.access.ratelimit"):
        for _ in range(50):
            quiet_limit_client.post("/api/v1/events", json=STATE)
    lines = [record.getMessage() for record in caplog.records]
    assert lines == ["rate limit: refused 1 write requests without a valid token from testclient"]


def test_the_token_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    clock = Clock()
    limiter = RateLimiter(2, 0.5, clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 2.0]
    assert limiter.take("b") == 0.0
    clock.now += 1
    assert limiter.take("a") == 1.0
    clock.now += 1
    assert limiter.take("a") == 0.0
    clock.now += 3600
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 2.0]
    limiter.give_back("a")
    assert limiter.take("a") == 0.0


def test_the_bucket_table_stays_bounded() -> None:
    clock = Clock()
    limiter = RateLimiter(1, 1.0, clock=clock, max_addresses=100)
    for n in range(10_000):
        limiter.take(f"10.0.{n // 256}.{n % 256}")
        clock.now += 0.001
    assert len(limiter._buckets) <= 100


@pytest.mark.parametrize(("burst", "per_s"), [(0, 1.0), (1, 0.0), (1, -1.0), (1, math.nan)])
def test_a_limiter_needs_a_burst_and_a_rate(burst: int, per_s: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        RateLimiter(burst, per_s)


def test_refusals_are_counted_between_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    refusals = RefusalLog("writes", clock=clock)
    with caplog.at_level(logging.WARNING, logger="linespeed.access.ratelimit"):
        for _ in range(100):
            refusals.refused("10.0.0.1")
            clock.now += 1
        refusals.refused("10.0.0.2")
    assert [record.getMessage() for record in caplog.records] == [
        "rate limit: refused 1 writes from 10.0.0.1",
        "rate limit: refused 60 writes from 10.0.0.1 in the last 60 s",
        "rate limit: refused 1 writes from 10.0.0.2",
    ]
    assert refusals.total == 101


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("testclient", "testclient"),
        (None, "unknown"),
    ],
)
def test_addresses_are_limited_per_host_or_ipv6_64(address: str | None, key: str) -> None:
    assert client_key(address) == key


@pytest.mark.parametrize("length", [0, 1, 511, 512, 513, 60_015, 10**6])
def test_audit_paths_are_cut_to_512_characters_and_say_so(length: int) -> None:
    path = ("/api/" + "p" * length)[:length]
    recorded = cut_path(path)
    assert len(recorded) <= MAX_PATH_CHARS
    if length <= MAX_PATH_CHARS:
        assert recorded == path
    else:
        assert recorded.endswith(f"…[cut from {length} chars]")
        assert path.startswith(recorded.split("…")[0])


def test_one_plain_401_for_a_missing_unknown_or_revoked_token(
    client: TestClient, tokens: Tokens, store: Engine
) -> None:
    revoked = revoke_token(store, 1)
    answers = [
        client.get("/api/v1/kpi"),
        client.get("/api/v1/kpi", headers={"Authorization": "Bearer ls_unknown"}),
        client.get("/api/v1/kpi", headers=tokens.header("viewer")),
        client.post("/api/v1/events", json=STATE, headers=tokens.header("viewer")),
    ]
    assert revoked.role == "viewer"
    assert {answer.status_code for answer in answers} == {401}
    assert len({answer.text for answer in answers}) == 1
    assert "revoked" not in answers[2].text and str(revoked.id) not in answers[2].text


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),
        ("GET", "/static/dashboard.js", 200),
        ("GET", "/static/vendor/uplot/uPlot.min.css", 200),
        ("GET", "/api/v1/health", 200),
        ("GET", "/api/v1/openapi.json", 200),
        ("GET", "/api/v1/kpi", 401),
        ("GET", "/api/v1/nothing", 404),
        ("GET", "/api/v1/docs", 404),
        ("POST", "/api/v1/events", 401),
    ],
)
@pytest.mark.slow
def test_every_answer_carries_the_security_headers(
    client: TestClient, method: str, path: str, status: int
) -> None:
    answer = client.request(method, path)
    assert answer.status_code == status
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers[name] == value
    assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]


def test_the_openapi_document_is_open_and_names_no_cdn(client: TestClient) -> None:
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    assert "/api/v1/events" in answer.json()["paths"]
    page = client.get("/").text
    assert "cdn" not in page.lower() and "https://" not in page
