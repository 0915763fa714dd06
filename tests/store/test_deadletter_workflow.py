"""Dead letters as a workflow: filtered lists, dismissing with a note, assigning, the audit
records of both, and the migration that reads existing letters' VIN, station and line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, select

from linespeed.access.audit import list_audit
from linespeed.errors import NotFoundError
from linespeed.ingest.core import Ingestor, RawEvent
from linespeed.ingest.corrections import Corrector
from linespeed.ingest.retry import retry_dead_letters
from linespeed.plant.model import Plant
from linespeed.store.deadletters import (
    DeadLetterHandledError,
    DeadLetterInputError,
    assign,
    dismiss,
    list_dead_letters,
)
from linespeed.store.engine import _alembic_config, migrate
from linespeed.store.schema import dead_letters
from tests.conftest import ingest, payload
from tests.ingest.line import event, start, vin

ALICE = Corrector("os-user alice")


def _letters(engine: Engine, plant: Plant) -> dict[str, Any]:
    """Four dead letters: a car never started, a station event, a malformed payload, and a
    CSV row refused by its file; by name, with the VIN of the car."""
    car = vin(plant, "s7", 1)
    sent: list[dict[str, Any] | bytes] = [
        event("station.entered", vin=car, station="body-010"),
        event("station.state", station="ga-140", state="down", line="nope"),
        b"not json",
    ]
    ingest(engine, sent)
    Ingestor(engine).ingest(
        [RawEvent(b"a,b", "line2.csv:7", refusal=("csv.row", "2 cells for 5 columns"))]
    )
    return {"car": car, "ids": [letter.id for letter in list_dead_letters(engine, None)]}


def test_the_payload_s_vin_station_and_line_are_kept(memory_engine: Engine, plant: Plant) -> None:
    made = _letters(memory_engine, plant)
    places = [(x.vin, x.station, x.line) for x in list_dead_letters(memory_engine)]
    assert places == [
        (made["car"], "body-010", None),
        (None, "ga-140", "nope"),
        (None, None, None),
        (None, None, None),
    ]


def test_filters_by_reason_vin_station_and_source(memory_engine: Engine, plant: Plant) -> None:
    made = _letters(memory_engine, plant)
    first, second, third, fourth = made["ids"]

    def ids(**filters: Any) -> list[int]:
        return [letter.id for letter in list_dead_letters(memory_engine, **filters)]

    assert ids(reason="unit.unknown") == [first]
    assert ids(reason="json.malformed") == [third]
    assert ids(reason="no.such_reason") == []
    assert ids(vin=made["car"]) == [first]
    assert ids(vin="LSPA1S7E3SB999999") == []
    assert ids(station="ga-140") == [second]
    assert ids(source="line2.csv") == [fourth]
    assert ids(source="test:") == [first, second, third]
    assert ids(source="%") == []  # a wildcard of SQL is text like any other
    assert ids(station="ga-140", reason="unit.unknown") == []
    assert ids(limit=2) == [first, second]


def test_filters_by_time_received(memory_engine: Engine, plant: Plant) -> None:
    made = _letters(memory_engine, plant)
    received = list_dead_letters(memory_engine)[0].received_at
    before, after = received - timedelta(seconds=1), received + timedelta(seconds=1)
    assert len(list_dead_letters(memory_engine, since=before)) == len(made["ids"])
    assert list_dead_letters(memory_engine, since=after) == []
    assert list_dead_letters(memory_engine, until=before) == []
    offset = after.astimezone(datetime.now().astimezone().tzinfo)  # the same time, another zone
    assert len(list_dead_letters(memory_engine, since=before, until=offset)) == len(made["ids"])


@pytest.mark.parametrize("name", ["since", "until"])
def test_a_time_without_offset_names_its_parameter(memory_engine: Engine, name: str) -> None:
    naive = datetime(2025, 6, 30, 9)
    window = {"since": naive, "until": None} if name == "since" else {"since": None, "until": naive}
    with pytest.raises(DeadLetterInputError, match=f"{name} 2025-06-30T09:00:00 has no UTC offset"):
        list_dead_letters(memory_engine, since=window["since"], until=window["until"])


def test_a_window_ending_before_it_starts_is_refused(memory_engine: Engine) -> None:
    late, early = datetime(2025, 7, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC)
    with pytest.raises(DeadLetterInputError, match=r"since .* is after until") as raised:
        list_dead_letters(memory_engine, since=late, until=early)
    assert raised.value.parameter == "until"


def test_dismiss_with_a_note_is_audited_and_never_retried(
    memory_engine: Engine, plant: Plant
) -> None:
    made = _letters(memory_engine, plant)
    first = made["ids"][0]
    [dismissed] = dismiss(memory_engine, [first], "  a test car from the bench  ", ALICE)
    assert dismissed.status == "dismissed"
    assert dismissed.note == "a test car from the bench"
    assert dismissed.handled_by == "os-user alice"
    assert dismissed.handled_at is not None
    assert first not in [letter.id for letter in list_dead_letters(memory_engine)]
    assert list_dead_letters(memory_engine, "dismissed") == [dismissed]
    [entry] = list_audit(memory_engine)
    assert entry.action == "deadletters.dismiss"
    assert entry.token_id is None
    assert entry.path == f"deadletters/{first}"
    assert "os-user alice" in entry.detail and "a test car from the bench" in entry.detail
    # the car's start arrives: a retry leaves the dismissed letter alone
    ingest(memory_engine, [start(plant, "s7", 1)])
    report = retry_dead_letters(Ingestor(memory_engine))
    assert report.retried == 2  # the ga-140 event and the malformed payload
    assert list_dead_letters(memory_engine, "dismissed") == [dismissed]


def test_assign_sets_the_assignee_and_is_audited_with_the_token(
    memory_engine: Engine, plant: Plant
) -> None:
    first, second, *_ = _letters(memory_engine, plant)["ids"]
    engineer = Corrector("token 7 (engineer)", 7)
    assigned = assign(memory_engine, [second, first], "Li Wei", engineer)
    assert [(x.id, x.assignee, x.status) for x in assigned] == [
        (second, "Li Wei", "open"),
        (first, "Li Wei", "open"),
    ]
    assert [x.id for x in list_dead_letters(memory_engine, assignee="Li Wei")] == [first, second]
    [reassigned] = assign(memory_engine, [first], "Chen Jie", ALICE)
    assert (reassigned.assignee, reassigned.handled_by) == ("Chen Jie", "os-user alice")
    entries = list_audit(memory_engine)
    assert [(e.action, e.token_id) for e in entries] == [
        ("deadletters.assign", None),
        ("deadletters.assign", 7),
        ("deadletters.assign", 7),
    ]
    assert "Chen Jie" in entries[0].detail


def test_unknown_ids_are_refused_by_number_and_nothing_changes(
    memory_engine: Engine, plant: Plant
) -> None:
    first, *_ = _letters(memory_engine, plant)["ids"]
    before = list_dead_letters(memory_engine, None)
    for unknown in (999_999, 0, -3, 2**70):
        with pytest.raises(NotFoundError, match=f"no dead letter #{unknown}"):
            dismiss(memory_engine, [first, unknown], "why", ALICE)
        with pytest.raises(NotFoundError, match=f"no dead letter #{unknown}"):
            assign(memory_engine, [unknown], "Li Wei", ALICE)
    assert list_dead_letters(memory_engine, None) == before
    assert list_audit(memory_engine) == []


def test_resolved_and_dismissed_letters_are_refused_by_number(
    memory_engine: Engine, plant: Plant
) -> None:
    first, second, *_ = _letters(memory_engine, plant)["ids"]
    ingest(memory_engine, [start(plant, "s7", 1)])
    retry_dead_letters(Ingestor(memory_engine))
    assert list_dead_letters(memory_engine, "resolved")[0].id == first
    with pytest.raises(DeadLetterHandledError, match=f"dead letter #{first} is resolved"):
        dismiss(memory_engine, [first], "no longer needed", ALICE)
    with pytest.raises(DeadLetterHandledError, match=f"dead letter #{first} is resolved"):
        assign(memory_engine, [second, first], "Li Wei", ALICE)
    dismiss(memory_engine, [second], "line nope was a typo", ALICE)
    with pytest.raises(
        DeadLetterHandledError, match=f"#{second} is already dismissed by os-user alice"
    ):
        dismiss(memory_engine, [second], "again", ALICE)
    assert list_dead_letters(memory_engine, assignee="Li Wei") == []


@pytest.mark.parametrize(
    ("note", "message"), [("", "note is empty"), (" \n ", "note is empty"), ("x" * 2001, "2,001")]
)
def test_a_dismissal_needs_a_note(
    memory_engine: Engine, plant: Plant, note: str, message: str
) -> None:
    first, *_ = _letters(memory_engine, plant)["ids"]
    with pytest.raises(DeadLetterInputError, match=message):
        dismiss(memory_engine, [first], note, ALICE)
    with pytest.raises(DeadLetterInputError, match="no dead letter given"):
        dismiss(memory_engine, [], "why", ALICE)


def test_the_migration_reads_vin_station_and_line_of_existing_letters(
    memory_engine: Engine, plant: Plant
) -> None:
    car = vin(plant, "s7", 2)
    with memory_engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "0014")
    raws = [
        payload(event("station.entered", vin=car, station="body-010", line="l1")),
        b'{"vin": 17, "station": ["ga-090"], "line": ""}',
        b"[1, 2",
        b'"just text"',
        b'{"vin": "' + b"V" * 300 + b'"}',
    ]
    rows = [
        {
            "received_at": datetime(2025, 6, 30, tzinfo=UTC),
            "source": f"old.jsonl:{number}",
            "raw": raw.decode(),
            "raw_sha256": f"{number:064d}",
            "event_id": None,
            "reason": "unit.unknown",
            "detail": "",
            "status": "open",
            "attempts": 0,
        }
        for number, raw in enumerate(raws, 1)
    ]
    with memory_engine.begin() as connection:
        connection.execute(dead_letters.insert(), rows)
    migrate(memory_engine)
    with memory_engine.connect() as connection:
        found = connection.execute(
            select(dead_letters.c.vin, dead_letters.c.station, dead_letters.c.line).order_by(
                dead_letters.c.id
            )
        ).all()
    assert [tuple(row) for row in found] == [
        (car, "body-010", "l1"),
        (None, None, None),
        (None, None, None),
        (None, None, None),
        (None, None, None),
    ]
    assert [letter.status for letter in list_dead_letters(memory_engine)] == ["open"] * 5
