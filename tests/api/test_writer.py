"""Group commit: requests posted at the same time each get their own outcomes, in order, and
a request whose ingest fails fails alone (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError

from linespeed.access.audit import audit_engine
from linespeed.api.writer import GroupWriter
from linespeed.ingest.core import Ingestor, Outcome, RawEvent
from linespeed.store.schema import events
from tests.backends import any_db_url, backend

__all__ = ["any_db_url", "backend"]


def _state(event_id: str, station: str = "ga-090") -> RawEvent:
    body = {
        "id": event_id,
        "kind": "station.state",
        "ts": "2025-06-30T12:00:00+08:00",
        "station": station,
        "state": "running",
    }
    return RawEvent(json.dumps(body).encode(), f"test:{event_id}")


def test_concurrent_requests_get_their_own_outcomes(engine: Engine) -> None:
    audit = audit_engine(engine)
    writer = GroupWriter(Ingestor(engine), audit)
    requests = [
        [_state(f"r{n}-{k}") for k in range(n % 4 + 1)]
        + [_state(f"bad-{n}", station="nope")]
        + [_state("shared")]
        for n in range(40)
    ]
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(writer.ingest, requests))
    finally:
        writer.close()
        audit.dispose()
    for batch, outcomes in zip(requests, answers, strict=True):
        assert [o.event_id for o in outcomes] == [json.loads(item.payload)["id"] for item in batch]
        assert [o.status for o in outcomes[:-2]] == ["accepted"] * (len(batch) - 2)
        assert outcomes[-2].reason == "station.unknown"
    shared = [outcomes[-1].status for outcomes in answers]
    assert sorted(shared) == ["accepted"] + ["duplicate"] * 39
    with engine.connect() as connection:
        stored = connection.execute(select(func.count()).select_from(events)).scalar()
    assert stored == sum(n % 4 + 1 for n in range(40)) + 1


class _Faulty(Ingestor):
    """An ingestor whose ingest raises `error` for a batch holding the poison payload, and
    that holds a batch holding the gate payload until `opened` is set (so that requests
    submitted meanwhile are grouped into one transaction)."""

    def __init__(self, engine: Engine, error: Exception) -> None:
        super().__init__(engine)
        self.error = error
        self.opened = threading.Event()
        self.entered = threading.Event()
        self.batch_sizes: list[int] = []

    def ingest(self, batch: Sequence[RawEvent]) -> list[Outcome]:
        self.batch_sizes.append(len(batch))
        if any(b"gate" in item.payload for item in batch):
            self.entered.set()
            self.opened.wait(timeout=30)
        if any(b"poison" in item.payload for item in batch):
            raise self.error
        return super().ingest(batch)


def _grouped(
    ingestor: _Faulty, engine: Engine, requests: list[list[RawEvent]]
) -> list[Future[list[Outcome]]]:
    """Submit `requests` while the writer holds a gate request, so they form one group."""
    writer = GroupWriter(ingestor, engine)
    try:
        gate = writer.submit([_state("gate")])
        assert ingestor.entered.wait(timeout=30)
        futures = [writer.submit(batch) for batch in requests]
        ingestor.opened.set()
        assert [o.status for o in gate.result(timeout=30)] == ["accepted"]
        for future in futures:
            future.exception(timeout=30)
    finally:
        writer.close()
    return futures


def _stored_ids(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(select(events.c.event_id)).scalars())


def test_a_request_that_fails_its_group_fails_alone(engine: Engine) -> None:
    ingestor = _Faulty(engine, RecursionError("maximum recursion depth exceeded"))
    requests = [[_state(f"good-{n}-{k}") for k in range(3)] for n in range(4)]
    requests.insert(2, [_state("before-poison"), _state("poison")])
    futures = _grouped(ingestor, engine, requests)
    assert ingestor.batch_sizes[1] == 14  # the five requests were one group first
    failed = futures.pop(2)
    assert isinstance(failed.exception(), RecursionError)
    for future in futures:
        assert [o.status for o in future.result()] == ["accepted"] * 3
    good = {f"good-{n}-{k}" for n in range(4) for k in range(3)}
    assert _stored_ids(engine) == good | {"gate"}


def test_a_database_failure_reaches_every_request_of_the_group(engine: Engine) -> None:
    error = OperationalError("INSERT ...", {}, Exception("database is locked"))
    ingestor = _Faulty(engine, error)
    requests = [[_state("poison"), _state("first")], [_state("second")], [_state("third")]]
    futures = _grouped(ingestor, engine, requests)
    assert ingestor.batch_sizes == [1, 4]  # not retried one by one
    assert all(isinstance(future.exception(), OperationalError) for future in futures)
    assert _stored_ids(engine) == {"gate"}
