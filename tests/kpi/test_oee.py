"""ISO 22400-2 OEE (kpi/oee.py): the textbook case by hand, the identity OEE = PRU x GQ / PBT,
zero denominators, the cap on unplanned down time, and station and line figures over
hand-built timelines (no store)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linespeed.kpi.bottleneck import ActivePeriods
from linespeed.kpi.intervals import Coverage
from linespeed.kpi.oee import Oee, line_oee, oee_of, ratio, station_kpis
from linespeed.kpi.states import LineTimelines, StationTimeline, Stop
from linespeed.plant.model import Line, Station

ST10 = Station(id="st-10", area="body", cycle_s=50, buffer=1)
ST20 = Station(id="st-20", area="ga", cycle_s=55)
ST30 = Station(id="st-30", area="eol", cycle_s=40, gate=True)
LINE = Line(id="l1", takt_s=60, stations=(ST10, ST20, ST30))
HOUR = [(0.0, 3600.0)]


def timeline(*stops: tuple[str, float, float]) -> StationTimeline:
    """A station's stops (state, start, end) in seconds, as load_timelines builds them."""
    listed = [Stop(state, None, start, end) for state, start, end in stops]
    return StationTimeline(
        listed,
        Coverage((s.start_s, s.end_s) for s in listed if s.state == "planned-stop"),
        Coverage((s.start_s, s.end_s) for s in listed if s.state in ("down", "changeover")),
    )


def timelines(*completed: float, **stations: StationTimeline) -> LineTimelines:
    """The line's timelines: the stations named (st_10=...) as given, the others never
    stopped; cars completed at the `completed` seconds (none: no car left the line)."""
    return LineTimelines(
        {s.id: stations.get(s.id.replace("-", "_"), StationTimeline()) for s in LINE.stations},
        completed_s=np.array(completed, dtype=np.float64),
    )


def test_the_iso_22400_textbook_case_worked_by_hand() -> None:
    # An 8 h shift: PBT = 28,800 s; one hour of unplanned down time: APT = 25,200 s.
    # PRU 60 s, PQ 380, GQ 361.
    figures = oee_of(28_800, 3_600, 60, 380, 361)
    assert (figures.planned_busy_s, figures.unplanned_down_s, figures.actual_production_s) == (
        28_800,
        3_600,
        25_200,
    )
    # Availability = APT / PBT = 25,200 / 28,800 = 0.875.
    assert figures.availability == pytest.approx(0.875)
    # Effectiveness = PRU x PQ / APT = 60 x 380 / 25,200 = 22,800 / 25,200 = 0.904762.
    assert figures.effectiveness == pytest.approx(0.9047619047619048)
    # Quality ratio = GQ / PQ = 361 / 380 = 0.95.
    assert figures.quality_ratio == pytest.approx(0.95)
    # OEE = 0.875 x 0.904762 x 0.95 = 0.752083 = PRU x GQ / PBT = 21,660 / 28,800.
    assert figures.oee == pytest.approx(0.7520833333333333)
    assert figures.oee == pytest.approx(60 * 361 / 28_800)


@given(
    pbt=st.floats(min_value=1.0, max_value=1e7),
    down_share=st.floats(min_value=0.0, max_value=0.999),
    pru=st.floats(min_value=0.01, max_value=1e4),
    pq=st.integers(min_value=0, max_value=10**6),
    good_share=st.floats(min_value=0.0, max_value=1.0),
)
def test_oee_is_pru_times_good_quantity_over_planned_busy_time(
    pbt: float, down_share: float, pru: float, pq: int, good_share: float
) -> None:
    gq = int(pq * good_share)
    figures = oee_of(pbt, pbt * down_share, pru, pq, gq)
    assert figures.oee == pytest.approx(pru * gq / pbt, rel=1e-9, abs=1e-12)
    assert 0.0 < figures.availability <= 1.0
    assert 0.0 <= figures.quality_ratio <= 1.0


def test_effectiveness_and_oee_exceed_1_when_work_is_faster_than_planned() -> None:
    # PRU 60 s, but 2 units in 100 s: 1.2 x the planned rate (docs/kpi.md allows it).
    figures = oee_of(100, 0, 60, 2, 2)
    assert (figures.availability, figures.quality_ratio) == (1.0, 1.0)
    assert figures.effectiveness == pytest.approx(1.2)
    assert figures.oee == pytest.approx(1.2)


@pytest.mark.parametrize(("numerator", "denominator"), [(5.0, 0.0), (0.0, 0.0), (5.0, -1.0)])
def test_a_ratio_over_a_denominator_not_above_zero_is_zero(
    numerator: float, denominator: float
) -> None:
    assert ratio(numerator, denominator) == 0.0


def test_a_ratio_over_a_positive_denominator_is_the_quotient() -> None:
    assert ratio(3.0, 4.0) == 0.75


@pytest.mark.parametrize(
    ("figures", "zero"),
    [
        (oee_of(0, 0, 60, 5, 5), {"availability", "effectiveness", "oee"}),
        (oee_of(3600, 3600, 60, 5, 5), {"availability", "effectiveness", "oee"}),
        (oee_of(3600, 0, 60, 0, 0), {"effectiveness", "quality_ratio", "oee"}),
    ],
    ids=["no planned busy time", "down all the time", "nothing processed"],
)
def test_every_ratio_with_a_zero_denominator_is_zero_not_nan(figures: Oee, zero: set[str]) -> None:
    values = {
        name: getattr(figures, name)
        for name in ("availability", "effectiveness", "quality_ratio", "oee")
    }
    assert {name for name, value in values.items() if value == 0.0} == zero
    assert all(value == value for value in values.values())  # no NaN


@given(
    pbt=st.floats(min_value=0.0, max_value=1e7),
    over=st.floats(min_value=0.0, max_value=1e7),
)
def test_unplanned_down_time_is_capped_at_planned_busy_time(pbt: float, over: float) -> None:
    figures = oee_of(pbt, pbt + over, 60, 10, 10)
    assert figures.unplanned_down_s == pbt
    assert figures.actual_production_s == 0.0
    assert (figures.availability, figures.effectiveness, figures.oee) == (0.0, 0.0, 0.0)


def test_a_station_row_is_the_worked_example_of_docs_kpi() -> None:
    # st-20 of docs/kpi.md: down 600 .. 900 ("torque tool fault"); PQ 4, one car failed
    # torque; active 225 s in 3 periods, 5 s starved, 5 s blocked; the bottleneck.
    periods = ActivePeriods(planned_busy_s=3600, active_s=225, periods=3, starved_s=5, blocked_s=5)
    row = station_kpis(
        ST20,
        LINE,
        timelines(st_20=timeline(("down", 600, 900))),
        HOUR,
        processed=4,
        bad=1,
        periods=periods,
        bottleneck=True,
    )
    assert (row.station, row.line, row.cycle_s, row.bottleneck) == ("st-20", "l1", 55, True)
    # PBT 3600, planned 0, down 300, APT 3300; PQ 4, GQ 3.
    assert (row.planned_busy_s, row.planned_stop_s, row.unplanned_down_s) == (3600, 0, 300)
    assert (row.actual_production_s, row.processed, row.good) == (3300, 4, 3)
    # Availability 3300 / 3600; effectiveness 55 x 4 / 3300; quality 3 / 4;
    # OEE = 55 x 3 / 3600 = 0.045833.
    assert row.availability == pytest.approx(3300 / 3600)
    assert row.effectiveness == pytest.approx(55 * 4 / 3300)
    assert row.quality_ratio == 0.75
    assert row.oee == pytest.approx(55 * 3 / 3600)
    # Active periods: 225 s in 3 = 75 s on average; shares of the 3600 s PBT.
    assert (row.active_s, row.active_periods, row.average_active_period_s) == (225, 3, 75)
    assert (row.starved_s, row.blocked_s) == (5, 5)
    assert row.active_share == pytest.approx(225 / 3600)
    assert row.starved_share == row.blocked_share == pytest.approx(5 / 3600)


def test_a_station_counts_only_the_time_inside_its_spans() -> None:
    # Two spans (as for a shift: 0 .. 1800 and 3000 .. 3600). A planned stop 1700 .. 3100
    # lies 100 s in each; down time 600 .. 900 in the first, 2000 .. 2500 in neither.
    line = timelines(
        st_10=timeline(("planned-stop", 1700, 3100), ("down", 600, 900), ("changeover", 2000, 2500))
    )
    row = station_kpis(
        ST10,
        LINE,
        line,
        [(0, 1800), (3000, 3600)],
        processed=20,
        bad=0,
        periods=ActivePeriods(0, 0, 0, 0, 0),
        bottleneck=False,
    )
    # PBT = 1800 + 600 - 200 = 2200; down 300; APT 1900.
    assert (row.planned_busy_s, row.planned_stop_s, row.unplanned_down_s) == (2200, 200, 300)
    assert row.actual_production_s == 1900
    assert row.oee == pytest.approx(50 * 20 / 2200)
    # No active period analysis: its shares are 0, not NaN.
    assert (row.average_active_period_s, row.active_share, row.starved_share) == (0, 0, 0)


def test_a_station_with_more_failed_cars_than_processed_has_no_good_ones() -> None:
    row = station_kpis(
        ST30,
        LINE,
        timelines(),
        HOUR,
        processed=2,
        bad=3,
        periods=ActivePeriods(3600, 80, 2, 0, 0),
        bottleneck=False,
    )
    assert (row.processed, row.good, row.quality_ratio, row.oee) == (2, 0, 0.0, 0.0)


def test_a_station_down_through_its_whole_planned_busy_time_has_zero_availability() -> None:
    row = station_kpis(
        ST10,
        LINE,
        timelines(st_10=timeline(("down", -100, 4000))),
        HOUR,
        processed=0,
        bad=0,
        periods=ActivePeriods(3600, 0, 0, 0, 0),
        bottleneck=False,
    )
    assert (row.planned_busy_s, row.unplanned_down_s, row.actual_production_s) == (3600, 3600, 0)
    assert (row.availability, row.effectiveness, row.oee) == (0.0, 0.0, 0.0)


def test_with_no_car_leaving_the_line_is_down_when_any_station_is() -> None:
    # No car leaves the line, so every stop costs output (docs/kpi.md: the line's down
    # time is the output it lost; until issue 15 this was the definition whatever the cars
    # did). st-10 down 100 .. 400 and st-20 in changeover 300 .. 600: the line is down
    # 100 .. 600 (the overlap counts once). st-30, the last station, has a planned stop
    # 500 .. 700: its PBT is 3400 and the line's down time inside it 100 .. 500 = 400 s.
    line = timelines(
        st_10=timeline(("down", 100, 400)),
        st_20=timeline(("changeover", 300, 600)),
        st_30=timeline(("planned-stop", 500, 700)),
    )
    figures = line_oee(LINE, line, HOUR, completed=40, good=30)
    assert (figures.planned_busy_s, figures.unplanned_down_s) == (3400, 400)
    assert figures.actual_production_s == 3000
    # PRU is the takt (60 s): effectiveness 60 x 40 / 3000 = 0.8; quality 30 / 40.
    assert figures.availability == pytest.approx(3000 / 3400)
    assert figures.effectiveness == pytest.approx(0.8)
    assert figures.quality_ratio == 0.75
    assert figures.oee == pytest.approx(60 * 30 / 3400)


def test_the_lines_figures_are_the_worked_example_of_docs_kpi() -> None:
    # st-20 down 600 .. 900; st-30 planned stop 3300 .. 3600; 4 completed (100, 175, 215,
    # 275), 2 good. No car left after 275 + 60: all of st-20's 300 s were lost output.
    line = timelines(
        100,
        175,
        215,
        275,
        st_20=timeline(("down", 600, 900)),
        st_30=timeline(("planned-stop", 3300, 3600)),
    )
    figures = line_oee(LINE, line, HOUR, completed=4, good=2)
    assert (figures.planned_busy_s, figures.unplanned_down_s, figures.actual_production_s) == (
        3300,
        300,
        3000,
    )
    assert figures.availability == pytest.approx(0.909091, abs=1e-6)
    assert figures.effectiveness == pytest.approx(0.08)
    assert figures.quality_ratio == 0.5
    assert figures.oee == pytest.approx(60 * 2 / 3300)


def test_the_line_counts_only_down_time_inside_its_spans() -> None:
    # Spans 0 .. 1000 and 2000 .. 3000; st-10 down 900 .. 2100: 100 s in each span.
    line = timelines(st_10=timeline(("down", 900, 2100)))
    figures = line_oee(LINE, line, [(0, 1000), (2000, 3000)], completed=10, good=10)
    assert (figures.planned_busy_s, figures.unplanned_down_s) == (2000, 200)
    assert figures.oee == pytest.approx(60 * 10 / 2000)


def test_a_line_without_planned_busy_time_has_zero_oee() -> None:
    line = timelines(st_30=timeline(("planned-stop", 0, 3600)), st_10=timeline(("down", 0, 3600)))
    figures = line_oee(LINE, line, HOUR, completed=3, good=3)
    assert (figures.planned_busy_s, figures.unplanned_down_s) == (0, 0)
    assert (figures.availability, figures.effectiveness, figures.oee) == (0.0, 0.0, 0.0)
    assert figures.quality_ratio == 1.0


def test_the_line_is_down_only_while_its_next_car_is_overdue() -> None:
    # Takt 60 s. Cars leave at 0, 60, ..., 600, then at 900, 960, ... (every 60 s). st-10
    # is down 100 .. 400 (the buffers kept cars leaving: no output lost) and st-20 620 ..
    # 850: the car due at 660 left at 900, so the output was lost 660 .. 850 (st-20 down
    # while a car was overdue): 190 s. 850 .. 900 (refilling) is a speed loss.
    leaving = [*range(0, 601, 60), *range(900, 3600, 60)]
    line = timelines(
        *leaving,
        st_10=timeline(("down", 100, 400)),
        st_20=timeline(("down", 620, 850)),
    )
    figures = line_oee(LINE, line, HOUR, completed=len(leaving), good=len(leaving))
    assert (figures.planned_busy_s, figures.unplanned_down_s) == (3600, 190)
    assert figures.effectiveness == pytest.approx(60 * len(leaving) / (3600 - 190))
    assert figures.effectiveness <= 1.0


def test_a_car_is_due_a_takt_of_planned_busy_time_after_the_one_before() -> None:
    # A car left at 1000; st-30 (the last station) has a planned stop 1030 .. 1330, so the
    # next car is due at 1360, not 1060. st-10 is down 1000 .. 1500 and the next car leaves
    # at 1500: output was lost 1360 .. 1500 = 140 s (the planned stop is no loss).
    line = timelines(
        1000,
        1500,
        st_10=timeline(("down", 1000, 1500)),
        st_30=timeline(("planned-stop", 1030, 1330)),
    )
    figures = line_oee(LINE, line, [(1000, 2000)], completed=1, good=1)
    assert (figures.planned_busy_s, figures.unplanned_down_s) == (700, 140)
