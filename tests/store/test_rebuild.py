"""`rebuild` recomputes projections equal to what incremental ingest produced."""

from __future__ import annotations

from sqlalchemy import Engine

from linespeed.events.codec import encode_event
from linespeed.ingest.core import Ingestor, RawEvent, batched
from linespeed.plant.model import Plant
from linespeed.sim.example import ExampleSettings, example_events
from linespeed.store.rebuild import rebuild
from linespeed.store.schema import PROJECTIONS
from tests.conftest import snapshot
from tests.ingest.line import event, start, through, vin

PROJECTION_NAMES = [table.name for table in PROJECTIONS]


def _extra(plant: Plant) -> list[dict[str, object]]:
    """Events that exercise replacement, scrap freeing a serial, defects and station states."""
    car_a, car_b = vin(plant, "s7", 101), vin(plant, "s7", 102)
    return [
        start(plant, "s7", 101),
        *through(plant, car_a, "ga-030"),
        event("part.installed", vin=car_a, station="ga-030", part="VCU-4101", serial="V-1"),
        event("part.installed", vin=car_a, station="ga-030", part="VCU-4101", serial="V-2"),
        event(
            "defect.opened", vin=car_a, station="ga-030", defect="A1", code="c", severity="minor"
        ),
        event("defect.closed", vin=car_a, defect="A1", action="accepted"),
        event("unit.scrapped", vin=car_a, station="ga-030", reason="flood damage"),
        start(plant, "s7", 102),
        *through(plant, car_b, "ga-030"),
        event("part.installed", vin=car_b, station="ga-030", part="VCU-4101", serial="V-2"),
        event("station.state", station="ga-030", state="down", reason="tool fault"),
        event("station.state", station="ga-030", state="running"),
        event("station.entered", vin=car_b, station="ga-030"),
    ]


def test_rebuild_equals_incremental_ingest(engine: Engine, plant: Plant) -> None:
    stream = [encode_event(e) for e in example_events(plant, ExampleSettings(cars=12))]
    extra = [__import__("msgspec").json.encode(e) for e in _extra(plant)]
    ingestor = Ingestor(engine)
    items = [RawEvent(p, f"s:{n}") for n, p in enumerate([*stream, *extra])]
    outcomes = [o for batch in batched(items, 97) for o in ingestor.ingest(batch)]
    assert {o.status for o in outcomes} == {"accepted"}, [o for o in outcomes if o.reason]
    incremental = snapshot(engine)

    replayed = rebuild(engine)

    assert replayed == len(items)
    rebuilt = snapshot(engine)
    for name in PROJECTION_NAMES:
        assert rebuilt[name] == incremental[name], name
    assert rebuilt == incremental
    assert len(incremental["units"]) == 14


def test_rebuild_of_an_empty_log_empties_projections(engine: Engine) -> None:
    assert rebuild(engine) == 0
    assert all(not snapshot(engine)[name] for name in PROJECTION_NAMES)
