"""Genealogy you can complete and correct: missing serialized parts at completion, and
engineers' corrections (`part.removed`, `part.installed` with `correction: true`) after
completion and shipping."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from linespeed.access.audit import list_audit
from linespeed.ingest.core import Ingestor, Outcome, RawEvent
from linespeed.ingest.corrections import Corrector
from linespeed.ingest.files import ingest_files
from linespeed.ingest.retry import retry_dead_letters
from linespeed.plant.model import Plant, Supply, with_tracking
from linespeed.store.deadletters import list_dead_letters
from linespeed.store.rebuild import rebuild
from linespeed.store.schema import PROJECTIONS, installed_parts
from linespeed.trace import missing_parts, part_recall
from tests.backends import store_url
from tests.conftest import make_store, payload, snapshot
from tests.ingest.line import event, full_line, start, through, vin

ENGINEER = Corrector("os-user test-engineer")


def _ingest(
    engine: Engine, items: list[dict[str, Any]], corrector: Corrector | None = None
) -> list[Outcome]:
    batch = [RawEvent(payload(item), f"test:{n}") for n, item in enumerate(items, 1)]
    return Ingestor(engine, corrector=corrector).ingest(batch)


def _accepted(outcomes: list[Outcome]) -> None:
    assert [o for o in outcomes if o.status != "accepted"] == []


def _strict(plant: Plant) -> Plant:
    return plant.model_copy(update={"supply": Supply(strict=True)})


def _serialized(plant: Plant, model: str) -> list[tuple[str, str]]:
    return [(b.station, b.part) for b in plant.models_by_id[model].parts if b.serialized]


def _built_with_parts(
    plant: Plant, number: int, *, skip: str | None = None
) -> list[dict[str, Any]]:
    """A car through the whole line with every serialized part installed (but `skip`)."""
    car = vin(plant, "s7", number)
    parts = _serialized(plant, "s7")
    rows: list[dict[str, Any]] = [start(plant, "s7", number)]
    for visit in through(plant, car):
        for station, part in parts:
            if station == visit["station"] and part != skip:
                rows.append(
                    event(
                        "part.installed",
                        vin=car,
                        station=station,
                        part=part,
                        serial=f"{part}-{number:05d}",
                    )
                )
        rows.append(visit)
    rows.append(event("unit.completed", vin=car))
    return rows


@pytest.fixture
def strict_engine(backend: str, plant: Plant) -> Iterator[Engine]:
    """A store whose plant has `supply: {strict: true}`; every serial is received."""
    with store_url(backend, "sqlite://") as url:
        store = make_store(url, _strict(plant))
        receipts = [
            event(
                "part.received",
                part=part,
                quantity=9,
                supplier="sup-x",
                serials=[f"{part}-{n:05d}" for n in range(1, 10)],
            )
            for part in sorted({part for _, part in _serialized(plant, "s7")})
        ]
        _accepted(_ingest(store, receipts))
        yield store
        store.dispose()


def test_strict_supply_refuses_completion_without_a_required_serialized_part(
    strict_engine: Engine, plant: Plant
) -> None:
    _accepted(_ingest(strict_engine, _built_with_parts(plant, 1)))
    outcomes = _ingest(strict_engine, _built_with_parts(plant, 2, skip="BAT-1001"))

    refused = outcomes[-1]
    assert (refused.status, refused.reason) == ("rejected", "unit.missing_part")
    assert "BAT-1001" in (refused.detail or "") and "ga-140" in (refused.detail or "")
    assert all(o.status == "accepted" for o in outcomes[:-1])


def test_units_tracked_lines_are_exempt_from_the_strict_check(backend: str, plant: Plant) -> None:
    with store_url(backend, "sqlite://") as url:
        store = make_store(url, with_tracking(_strict(plant), "units"))
        car = vin(plant, "s7", 1)
        _accepted(_ingest(store, [start(plant, "s7", 1), event("unit.completed", vin=car)]))
        # nor is the car flagged: such a line reports no installs
        assert missing_parts(store).cars == []
        store.dispose()


def _shipped_car(engine: Engine, plant: Plant, number: int) -> str:
    car = vin(plant, "s7", number)
    rows = [
        start(plant, "s7", number),
        *through(plant, car, "ga-140"),
        event("part.installed", vin=car, station="ga-140", part="BAT-1001", serial=f"B-{number}"),
        *through(plant, car, first=[s.id for s in plant.lines[0].stations].index("ga-140")),
        event("unit.completed", vin=car),
        event("unit.shipped", vin=car, destination="dealer-north"),
    ]
    _accepted(_ingest(engine, rows))
    return car


def test_an_engineer_replaces_a_piece_of_a_shipped_car(memory_engine: Engine, plant: Plant) -> None:
    car = _shipped_car(memory_engine, plant, 1)
    removed = event("part.removed", vin=car, part="BAT-1001", serial="B-1", reason="cell fault")
    installed = event(
        "part.installed",
        vin=car,
        station="ga-140",
        part="BAT-1001",
        serial="B-900",
        correction=True,
    )

    _accepted(_ingest(memory_engine, [removed, installed], ENGINEER))

    with memory_engine.connect() as connection:
        rows = connection.execute(
            select(
                installed_parts.c.serial,
                installed_parts.c.correction,
                installed_parts.c.removed_reason,
                installed_parts.c.removed_at.is_not(None),
            )
            .where(installed_parts.c.vin == car, installed_parts.c.part == "BAT-1001")
            .order_by(installed_parts.c.installed_at)
        ).all()
    assert [tuple(row) for row in rows] == [
        ("B-1", False, "cell fault", True),
        ("B-900", True, None, False),
    ]
    # the piece taken out is free for another car
    other = vin(plant, "s7", 2)
    _accepted(
        _ingest(
            memory_engine,
            [
                start(plant, "s7", 2),
                *through(plant, other, "ga-140"),
                event("part.installed", vin=other, station="ga-140", part="BAT-1001", serial="B-1"),
            ],
        )
    )


def test_corrections_without_the_engineer_role_are_refused(
    memory_engine: Engine, plant: Plant
) -> None:
    car = _shipped_car(memory_engine, plant, 1)
    before = snapshot(memory_engine, skip=("dead_letters",))
    outcomes = _ingest(
        memory_engine,
        [
            event("part.removed", vin=car, part="BAT-1001", serial="B-1", reason="cell fault"),
            event(
                "part.installed",
                vin=car,
                station="ga-140",
                part="BAT-1001",
                serial="B-900",
                correction=True,
            ),
        ],
    )
    assert [(o.status, o.reason) for o in outcomes] == [("rejected", "correction.not_allowed")] * 2
    assert "engineer" in (outcomes[0].detail or "")
    assert snapshot(memory_engine, skip=("dead_letters",)) == before


def test_removing_a_piece_the_car_does_not_hold_is_refused(
    memory_engine: Engine, plant: Plant
) -> None:
    car = _shipped_car(memory_engine, plant, 1)
    outcomes = _ingest(
        memory_engine,
        [
            event("part.removed", vin=car, part="BAT-1001", serial="B-7", reason="x"),
            event("part.removed", vin=car, part="EDU-3101", reason="x"),
            event("part.removed", vin=car, part="NOPE-1", reason="x"),
        ],
        ENGINEER,
    )
    assert [o.reason for o in outcomes] == ["part.not_held", "part.not_held", "part.not_in_bom"]


def test_a_missed_scan_is_added_to_a_shipped_car_and_the_car_is_no_longer_missing_it(
    memory_engine: Engine, plant: Plant
) -> None:
    car = _shipped_car(memory_engine, plant, 1)
    missing = {
        car_.vin: [m.part for m in car_.missing] for car_ in missing_parts(memory_engine).cars
    }
    assert "EDU-3101" in missing[car]
    _accepted(
        _ingest(
            memory_engine,
            [
                event(
                    "part.installed",
                    vin=car,
                    station="ga-140",
                    part="EDU-3101",
                    serial="E-1",
                    correction=True,
                )
            ],
            ENGINEER,
        )
    )
    after = {car_.vin: [m.part for m in car_.missing] for car_ in missing_parts(memory_engine).cars}
    assert "EDU-3101" not in after[car]


def test_accepted_corrections_are_audited_with_who_made_them(
    memory_engine: Engine, plant: Plant
) -> None:
    car = _shipped_car(memory_engine, plant, 1)
    _accepted(
        _ingest(
            memory_engine,
            [event("part.removed", vin=car, part="BAT-1001", reason="cell fault")],
            ENGINEER,
        )
    )
    (entry,) = list_audit(memory_engine)
    assert (entry.action, entry.outcome) == ("events.correction", "ok")
    assert "os-user test-engineer" in entry.detail and car in entry.detail
    assert "part.removed" in entry.detail


def test_rebuild_gives_the_same_tables_after_corrections(
    memory_engine: Engine, plant: Plant
) -> None:
    car = _shipped_car(memory_engine, plant, 1)
    lot_car = vin(plant, "s7", 3)
    _accepted(
        _ingest(
            memory_engine,
            [
                event("part.removed", vin=car, part="BAT-1001", serial="B-1", reason="cell"),
                event(
                    "part.installed",
                    vin=car,
                    station="ga-140",
                    part="BAT-1001",
                    serial="B-2",
                    correction=True,
                ),
                start(plant, "s7", 3),
                *through(plant, lot_car, "ga-090"),
                event("part.installed", vin=lot_car, station="ga-090", part="BRK-2201", lot="L1"),
                event("part.removed", vin=lot_car, part="BRK-2201", lot="L1", reason="bad lot"),
                event("part.installed", vin=lot_car, station="ga-090", part="BRK-2201", lot="L2"),
            ],
            ENGINEER,
        )
    )
    incremental = snapshot(memory_engine)
    rebuild(memory_engine)
    rebuilt = snapshot(memory_engine)
    for table in PROJECTIONS:
        assert rebuilt[table.name] == incremental[table.name], table.name


def test_old_part_installed_events_keep_their_body(memory_engine: Engine, plant: Plant) -> None:
    from linespeed.events.codec import decode_event, encode_event

    body = (
        b'{"id":"x","ts":"2025-06-30T08:00:00+08:00","kind":"part.installed",'
        b'"vin":"LSPA1S7E8SB000001","station":"ga-140","part":"BAT-1001","serial":"S"}'
    )
    assert b"correction" not in encode_event(decode_event(body))


def test_a_dead_letter_keeps_its_first_reason_when_retried_and_refused_again(
    memory_engine: Engine, plant: Plant
) -> None:
    car = vin(plant, "s7", 1)
    late = event("station.completed", vin=car, station="ga-010", result="ok")
    (first,) = _ingest(memory_engine, [late])
    assert first.reason == "unit.unknown"
    # the car now exists, but the event still does not fit: a station was missed
    _accepted(_ingest(memory_engine, [start(plant, "s7", 1)]))

    report = retry_dead_letters(Ingestor(memory_engine))

    assert report.reasons == {"station.missed": 1}
    (letter,) = list_dead_letters(memory_engine)
    assert (letter.reason, letter.attempts) == ("unit.unknown", 1)
    assert "never started" in letter.detail


def test_full_line_helper_still_completes_without_strict(
    memory_engine: Engine, plant: Plant
) -> None:
    car = vin(plant, "s7", 1)
    _accepted(_ingest(memory_engine, [start(plant, "s7", 1), *full_line(plant, car)]))


def test_a_csv_correction_cell_reads_true_or_false(
    memory_engine: Engine, plant: Plant, tmp_path: Path
) -> None:
    car = _shipped_car(memory_engine, plant, 1)
    path = tmp_path / "fix.csv"
    path.write_text(
        "id,ts,kind,vin,station,part,serial,correction\n"
        f"c-1,2025-07-01T08:00:00+08:00,part.installed,{car},ga-140,EDU-3101,E-1,true\n"
        f"c-2,2025-07-01T08:00:01+08:00,part.installed,{car},ga-140,EDU-3102,E-2,yes\n",
        encoding="utf-8",
    )

    report = ingest_files(Ingestor(memory_engine, corrector=ENGINEER), [path])

    assert (report.accepted, dict(report.reasons)) == (1, {"csv.row": 1})
    (letter,) = list_dead_letters(memory_engine)
    assert "correction: 'yes' is not true or false" in letter.detail


def test_a_bad_lot_taken_out_leaves_the_recall_and_the_new_lot_enters_it(
    memory_engine: Engine, plant: Plant
) -> None:
    car = vin(plant, "s7", 5)
    _accepted(
        _ingest(
            memory_engine,
            [
                start(plant, "s7", 5),
                *through(plant, car, "ga-090"),
                event("part.installed", vin=car, station="ga-090", part="BRK-2201", lot="L1"),
                *through(plant, car, first=[s.id for s in plant.lines[0].stations].index("ga-090")),
                event("unit.completed", vin=car),
            ],
        )
    )
    assert [c.vin for c in part_recall(memory_engine, "BRK-2201", lots=["L1"]).cars] == [car]

    _accepted(
        _ingest(
            memory_engine,
            [
                event("part.removed", vin=car, part="BRK-2201", lot="L1", reason="lot 24-113"),
                event(
                    "part.installed",
                    vin=car,
                    station="ga-090",
                    part="BRK-2201",
                    lot="L2",
                    correction=True,
                ),
            ],
            ENGINEER,
        )
    )

    assert part_recall(memory_engine, "BRK-2201", lots=["L1"]).cars == []
    assert [c.vin for c in part_recall(memory_engine, "BRK-2201", lots=["L2"]).cars] == [car]
    again = _ingest(
        memory_engine,
        [event("part.removed", vin=car, part="BRK-2201", lot="L1", reason="twice")],
        ENGINEER,
    )
    assert [o.reason for o in again] == ["part.not_held"]
