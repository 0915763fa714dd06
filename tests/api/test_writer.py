"""Group commit: requests posted at the same time each get their own outcomes, in order."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, func, select

from linespeed.api.audit import audit_engine
from linespeed.api.writer import GroupWriter
from linespeed.ingest.core import Ingestor, RawEvent
from linespeed.store.schema import events


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
