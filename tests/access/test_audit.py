"""The audit log (access/audit.py), without HTTP: write requests recorded and listed newest
first, page by page, texts cut to their bounds and NULs spelled out (on SQLite and
PostgreSQL), and the engine the log is written with."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, text

from linespeed.access.audit import (
    MAX_PAGE,
    MAX_PATH_CHARS,
    AuditEntry,
    AuditRecord,
    audit_engine,
    cut_path,
    list_audit,
    record_writes,
)
from linespeed.access.errors import AuditInputError
from linespeed.plant.model import Plant
from linespeed.store.engine import connect
from tests.conftest import make_store

AT = datetime(2025, 6, 30, 8, 0, tzinfo=timezone(timedelta(hours=8)))


def record(number: int, **changes: Any) -> AuditRecord:
    """The `number`th write request of a test: an event posted `number` seconds after AT."""
    posted = AuditRecord(
        token_id=number,
        at=AT + timedelta(seconds=number),
        method="POST",
        path=f"/api/v1/events/{number}",
        action="events.post",
        outcome="ok",
        status_code=200,
        detail=f"1 accepted ({number})",
    )
    return replace(posted, **changes)


def entry(id: int, written: AuditRecord) -> AuditEntry:
    """What list_audit answers for a record written whole as entry `id`."""
    return AuditEntry(
        id,
        written.token_id,
        written.at.astimezone(UTC),
        written.method,
        written.path,
        written.action,
        written.outcome,
        written.status_code,
        written.detail,
    )


def test_records_come_back_newest_first_with_every_field(memory_engine: Engine) -> None:
    first = [record(1), record(2, token_id=None, outcome="auth.unauthorized", status_code=401)]
    later = [record(3, method="DELETE", action="tokens.revoke", detail="")]
    record_writes(memory_engine, first)
    record_writes(memory_engine, later)
    listed = list_audit(memory_engine)
    assert listed == [entry(3, later[0]), entry(2, first[1]), entry(1, first[0])]
    assert all(found.at.tzinfo is UTC for found in listed)


def test_newest_first_means_last_written_not_latest_at(memory_engine: Engine) -> None:
    # The log is in the order requests were recorded, even if a clock went back.
    record_writes(memory_engine, [record(10)])
    record_writes(memory_engine, [record(1)])
    assert [found.token_id for found in list_audit(memory_engine)] == [1, 10]


def test_pages_walk_back_from_before_id_without_gaps_or_repeats(memory_engine: Engine) -> None:
    record_writes(memory_engine, [record(n) for n in range(1, 8)])
    pages: list[list[int]] = []
    before: int | None = None
    while page := list_audit(memory_engine, limit=3, before_id=before):
        pages.append([found.id for found in page])
        before = page[-1].id
    assert pages == [[7, 6, 5], [4, 3, 2], [1]]
    assert list_audit(memory_engine, before_id=1) == []
    assert [found.id for found in list_audit(memory_engine, limit=2, before_id=100)] == [7, 6]


def test_recording_nothing_writes_nothing(memory_engine: Engine) -> None:
    record_writes(memory_engine, [])
    assert list_audit(memory_engine) == []


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE + 1, 10**9])
def test_a_limit_outside_1_to_1000_is_refused_naming_it(memory_engine: Engine, limit: int) -> None:
    with pytest.raises(AuditInputError) as caught:
        list_audit(memory_engine, limit=limit)
    error = caught.value
    assert (error.code, error.parameter, error.value) == ("audit.input", "limit", limit)
    assert str(error) == f"limit must be 1 to 1000, got {limit}"


@pytest.mark.parametrize("limit", [1, MAX_PAGE])
def test_a_limit_of_1_or_1000_is_answered(memory_engine: Engine, limit: int) -> None:
    record_writes(memory_engine, [record(n) for n in range(1, 4)])
    assert len(list_audit(memory_engine, limit=limit)) == min(limit, 3)


def test_huge_texts_are_stored_cut_to_their_bounds(memory_engine: Engine) -> None:
    path = "/api/v1/events/" + "p" * 60_000
    huge = record(
        1,
        method="PROPFIND-X",
        path=path,
        action="a" * 100,
        outcome="o" * 100,
        detail="d" * 100_000,
    )
    record_writes(memory_engine, [huge])
    (found,) = list_audit(memory_engine)
    assert found.path == cut_path(path)
    assert len(found.path) == MAX_PATH_CHARS
    assert found.path.startswith("/api/v1/events/ppp")
    assert found.path.endswith(f"…[cut from {len(path)} chars]")
    assert (found.method, found.action, found.outcome) == ("PROPFIND", "a" * 64, "o" * 64)
    assert found.detail == "d" * 2000


def test_nul_characters_are_stored_spelled_out_and_read_back(memory_engine: Engine) -> None:
    nul = record(1, path="/api/v1/\x00x", action="ev\x00", outcome="\x00", detail="a\x00b\x00")
    record_writes(memory_engine, [nul, record(2)])
    second, first = list_audit(memory_engine)
    assert (first.path, first.action, first.outcome, first.detail) == (
        "/api/v1/\\x00x",
        "ev\\x00",
        "\\x00",
        "a\\x00b\\x00",
    )
    assert second == entry(2, record(2))


def test_path_and_detail_with_nuls_stay_within_their_bounds(memory_engine: Engine) -> None:
    record_writes(memory_engine, [record(1, path="/" + "\x00" * 600, detail="\x00" * 3000)])
    (found,) = list_audit(memory_engine)
    assert len(found.path) <= MAX_PATH_CHARS
    assert len(found.detail) <= 2000


def test_a_method_action_and_outcome_with_nuls_are_recorded_within_their_columns(
    memory_engine: Engine,
) -> None:
    short = record(1, method="PO\x00ST", action="a" * 63 + "\x00", outcome="\x00" * 64)
    record_writes(memory_engine, [short])
    (found,) = list_audit(memory_engine)
    assert "\x00" not in found.method and len(found.method) <= 8
    assert len(found.action) <= 64
    assert len(found.outcome) <= 64


@pytest.fixture
def file_store(db_url: str, plant: Plant) -> Iterator[Engine]:
    """A store in a SQLite file or a PostgreSQL schema."""
    store = make_store(db_url, plant)
    yield store
    store.dispose()


def test_the_audit_engine_writes_to_the_same_store(file_store: Engine) -> None:
    writer = audit_engine(file_store)
    try:
        record_writes(writer, [record(1)])
        assert list_audit(file_store) == [entry(1, record(1))]
        if file_store.dialect.name == "sqlite":
            # Its own engine on the file, whose commits do not wait for the disk.
            assert writer is not file_store
            with writer.connect() as connection:
                assert connection.execute(text("PRAGMA synchronous")).scalar_one() == 1
        else:
            assert writer is file_store
    finally:
        if writer is not file_store:
            writer.dispose()


def test_an_in_memory_store_is_written_with_its_own_engine(plant: Plant) -> None:
    store = connect("sqlite://")
    try:
        assert audit_engine(store) is store
    finally:
        store.dispose()
