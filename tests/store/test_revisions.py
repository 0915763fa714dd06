"""Plant revisions: a changed plant is a new revision; cars keep the revision they started under."""

from __future__ import annotations

from sqlalchemy import Engine, select

from linespeed.plant.model import Plant
from linespeed.store.plants import save_plant
from linespeed.store.schema import events, plant_revisions, units
from tests.conftest import ingest, snapshot
from tests.ingest.line import event, start, through, vin


def _without_part(plant: Plant, part: str, add: str) -> Plant:
    """The plant with `part` of model s7 replaced by `add` in its BOM."""
    data = plant.model_dump()
    for model in data["models"]:
        if model["id"] == "s7":
            for bom in model["parts"]:
                if bom["part"] == part:
                    bom["part"] = add
    return Plant.model_validate(data)


def test_loading_the_same_plant_again_adds_no_revision(engine: Engine, plant: Plant) -> None:
    assert save_plant(engine, plant, "again.yaml") == (1, False)


def test_bom_change_mid_production_keeps_cars_on_the_line_valid(
    engine: Engine, plant: Plant
) -> None:
    old_car, new_car = vin(plant, "s7", 1), vin(plant, "s7", 2)
    assert {
        o.status
        for o in ingest(engine, [start(plant, "s7", 1), *through(plant, old_car, "ga-090")])
    } == {"accepted"}
    before_events = snapshot(engine)["events"]

    revision, created = save_plant(engine, _without_part(plant, "BRK-2201", "BRK-2299"), "v2.yaml")

    assert (revision, created) == (2, True)
    assert snapshot(engine)["events"] == before_events
    outcomes = ingest(
        engine,
        [
            event("part.installed", vin=old_car, station="ga-090", part="BRK-2201", lot="OLD"),
            start(plant, "s7", 2),
            *through(plant, new_car, "ga-090"),
            event("part.installed", vin=new_car, station="ga-090", part="BRK-2201", lot="OLD"),
            event("part.installed", vin=new_car, station="ga-090", part="BRK-2299", lot="NEW"),
        ],
    )
    assert outcomes[0].status == "accepted"
    assert (outcomes[-2].status, outcomes[-2].reason) == ("rejected", "part.not_in_bom")
    assert outcomes[-1].status == "accepted"
    with engine.connect() as connection:
        by_vin = dict(connection.execute(select(units.c.vin, units.c.revision)).all())
        assert by_vin == {old_car: 1, new_car: 2}
        assert connection.execute(select(plant_revisions.c.revision)).scalars().all() == [1, 2]
        assert (
            connection.execute(select(events.c.revision).where(events.c.vin == old_car))
            .scalars()
            .all()[-1]
            == 1
        )
