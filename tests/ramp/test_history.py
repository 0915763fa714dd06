"""The ramp starts where the plant started: sop, cars_before and imported history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from linespeed.events.codec import encode_event
from linespeed.plant.model import Plant
from linespeed.ramp.errors import MilestoneInputError
from linespeed.ramp.history import HistoryFileError, import_history, parse_history
from linespeed.ramp.milestones import milestones_reached, plan_milestone
from linespeed.ramp.plant_ramp import plant_ramp
from linespeed.ramp.report import forecast_targets
from linespeed.sim.example import ExampleSettings, example_events
from linespeed.store.rebuild import rebuild
from linespeed.store.schema import ramp_history
from tests.backends import any_db_url, backend
from tests.conftest import ingest, make_store

__all__ = ["any_db_url", "backend"]

ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2025, 6, 30, 9, 0, tzinfo=ZONE)
HISTORY = b"period,quantity\n2025-03,1200\n2025-04,2500\n2025-W19,800\n"


def _store(db_url: str, plant: Plant, **update: object) -> Engine:
    return make_store(db_url, plant.model_copy(update=update))


@pytest.fixture
def started(db_url: str, plant: Plant) -> Iterator[Engine]:
    """A store whose plant began on 2025-03-03 with 9,995 cars before the store, 10 cars in."""
    engine = _store(db_url, plant, sop=date(2025, 3, 3), cars_before=9_995)
    stream = [encode_event(e) for e in example_events(plant, ExampleSettings(cars=10, start=START))]
    assert {outcome.status for outcome in ingest(engine, stream)} == {"accepted"}
    yield engine
    engine.dispose()


def test_the_ramp_starts_at_the_plant_sop_and_counts_cars_before(started: Engine) -> None:
    series = plant_ramp(started)
    assert series is not None
    assert series.sop == date(2025, 3, 3)
    assert series.pairs() == [(date(2025, 3, 3), 0.0), (date(2025, 6, 30), 10_005.0)]


def test_milestones_continue_from_cars_before(started: Engine) -> None:
    report = milestones_reached(started)
    assert report.completed == 10_005
    assert [car.number for car in report.reached] == [10_000]
    assert report.reached[0].days_since_sop > 118
    assert report.start_of_production == datetime(2025, 3, 3, tzinfo=ZONE)
    assert plan_milestone(started, 10_000).reached == report.reached[0]
    assert forecast_targets(started)[0] == 50_000
    with pytest.raises(MilestoneInputError, match="before the store began"):
        plan_milestone(started, 9_000)


def test_history_comes_before_the_store_points(db_url: str, plant: Plant) -> None:
    engine = _store(db_url, plant, sop=date(2025, 3, 1), cars_before=4_500)
    try:
        stream = example_events(plant, ExampleSettings(cars=3, start=START))
        ingest(engine, [encode_event(e) for e in stream])
        result = import_history(engine, HISTORY, "history.csv")
        assert (result.periods, result.quantity) == (3, 4_500)
        assert (result.first_day, result.last_day) == (date(2025, 3, 1), date(2025, 5, 11))
        series = plant_ramp(engine)
        assert series is not None
        assert series.pairs() == [
            (date(2025, 3, 1), 0.0),
            (date(2025, 3, 31), 1_200.0),
            (date(2025, 4, 30), 3_700.0),
            (date(2025, 5, 11), 4_500.0),
            (date(2025, 6, 30), 4_503.0),
        ]
        assert [point.kind for point in series.points][:4] == ["start-of-production"] + [
            "history"
        ] * 3
        assert milestones_reached(engine).completed == 4_503
        rebuild(engine)
        with engine.connect() as connection:
            assert len(connection.execute(select(ramp_history)).all()) == 3
    finally:
        engine.dispose()


def test_history_alone_gives_a_ramp(db_url: str, plant: Plant) -> None:
    engine = _store(db_url, plant, cars_before=4_500)
    try:
        import_history(engine, HISTORY, "history.csv")
        series = plant_ramp(engine)
        assert series is not None
        assert series.sop == date(2025, 3, 1)
        assert series.pairs()[-1] == (date(2025, 5, 11), 4_500.0)
    finally:
        engine.dispose()


def test_history_after_the_first_store_car_is_refused(db_url: str, plant: Plant) -> None:
    engine = _store(db_url, plant, cars_before=5_000)  # more than the history
    try:
        ingest(
            engine,
            [encode_event(e) for e in example_events(plant, ExampleSettings(cars=2, start=START))],
        )
        late = HISTORY + b"2025-06,400\n"
        with pytest.raises(HistoryFileError) as raised:
            import_history(engine, late, "history.csv")
        (problem,) = raised.value.problems
        assert (problem.file, problem.line, problem.field) == ("history.csv", 5, "period")
        assert "first car was completed on 2025-06-30" in problem.message
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        (b"", 1, "", "the file is empty"),
        (b"month,quantity\n2025-03,1\n", 1, "period", "missing column 'period'"),
        (b"period,quantity\n2025-13,5\n", 2, "period", "'2025-13' is not a month YYYY-MM"),
        (b"period,quantity\n2025-03,5\n2025-W54,5\n", 3, "period", "ISO week"),
        (b"period,quantity\n2025-03,-5\n", 2, "quantity", "'-5' is not a whole number"),
        (b"period,quantity\n2025-03,1.5\n", 2, "quantity", "'1.5' is not a whole number"),
        (b"period,quantity\n2025-03,5\n2025-W10,5\n", 3, "period", "does not start after"),
        (b"period,quantity\n2025-03,5,7\n", 2, "", "3 fields; the header has 2"),
        (b"period,quantity\n", 2, "", "no periods under the header"),
    ],
)
def test_bad_history_names_file_line_and_field(
    text: bytes, line: int, field: str, message: str
) -> None:
    with pytest.raises(HistoryFileError) as raised:
        parse_history(text, "history.csv")
    problem = raised.value.problems[0]
    assert (problem.file, problem.line, problem.field) == ("history.csv", line, field)
    assert message in problem.message
    assert str(problem).startswith(f"history.csv:{line}:")


def test_history_beyond_cars_before_is_refused(db_url: str, plant: Plant) -> None:
    engine = _store(db_url, plant, cars_before=4_000)
    try:
        with pytest.raises(HistoryFileError) as raised:
            import_history(engine, HISTORY, "history.csv")
        (problem,) = raised.value.problems
        assert (problem.line, problem.field) == (4, "quantity")
        assert "holds 4,500 cars, more than the 4,000 cars" in problem.message
    finally:
        engine.dispose()
