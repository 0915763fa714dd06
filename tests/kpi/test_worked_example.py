"""Every KPI formula on the worked example of docs/kpi.md, computed by hand.

The example (tests/kpi/example.py) is one hour, 08:00-09:00 local time, of a three-station
line with takt 60 s: st-10 (cycle 50 s, one buffer place after it), st-20 (cycle 55 s,
check `torque`), st-30 (cycle 40 s, check `leak`, quality gate). Station states: st-20 is
down 08:10-08:15 (300 s, "torque tool fault"); st-30 has a planned stop 08:55-09:00
(300 s, "team meeting"). Times below are seconds after 08:00.
"""

from __future__ import annotations

import msgspec
import pytest
from sqlalchemy import Engine

from linespeed.kpi import DowntimeEntry, KpiReport, ParetoEntry, StationKpis, kpi_report
from tests.conftest import ingest
from tests.kpi.example import at, example_events, example_plant


@pytest.fixture
def report(kpi_store: Engine) -> KpiReport:
    return kpi_report(kpi_store, since=at(0), until=at(3600))


def station(report: KpiReport, station_id: str) -> StationKpis:
    return next(row for row in report.stations if row.station == station_id)


def test_window_is_the_one_asked_for(report: KpiReport) -> None:
    assert (report.since, report.until) == (at(0), at(3600))
    assert report.since.utcoffset() is not None


def test_counts(report: KpiReport) -> None:
    # Cars 1-6 were started in the window (car 0 at -60, before it).
    assert report.produced == 6
    # Cars 0, 1, 2, 3 rolled off at 100, 175, 215, 275.
    assert report.completed == 4
    # Car 4 was scrapped at st-20 at 305.
    assert report.scrapped == 1
    # In production at 09:00: started before it (7) - completed (4) - scrapped (1) = cars 5, 6.
    assert report.wip == 2


def test_jph_against_takt(report: KpiReport) -> None:
    # Production hours: planned busy time of the last station, st-30:
    # 3600 s - 300 s planned stop = 3300 s = 0.916667 h.
    # st-30's 5 minutes of planned stop come from its states, the rest of the hour from
    # the plant's shifts (it lies inside one)
    assert report.production_hours_source == {
        "station_states": 300.0,
        "calendar": 0.0,
        "shift_plan": 3300.0,
        "window": 0.0,
    }
    assert report.production_hours == pytest.approx(3300 / 3600, abs=1e-6)
    # JPH = 4 completed / 0.916667 h = 4.3636.
    assert report.jph == pytest.approx(4 / (3300 / 3600))
    # Takt 60 s: 3600 / 60 = 60 JPH; 4.3636 / 60 = 0.0727.
    assert report.takt_jph == 60.0
    assert report.jph_vs_takt == pytest.approx(4 / (3300 / 3600) / 60)
    # ISO 22400-2 throughput rate: 4 completed / 1 elapsed hour.
    assert report.throughput_rate == 4.0
    # No production plan is stored.
    assert (report.planned, report.planned_vs_actual) == (None, None)


def test_first_pass_yield_and_defects_per_unit(report: KpiReport) -> None:
    # Inspected in the window (a check recorded or a defect opened): cars 0-4 (5). Not
    # first time through (a failed check or a defect opened): car 2 (torque, scratch,
    # torque-low), car 3 (leak, scratch), car 4 (torque). First time through: cars 0 and 1.
    # FPY = 2 / 5 = 0.4, as the line's quality ratio counts them.
    assert (report.units_inspected, report.units_first_pass) == (5, 2)
    assert report.first_pass_yield == pytest.approx(0.4)
    # Defects opened: scratch (car 2), torque-low (car 2), scratch (car 3), leak (car 3).
    # DPU = 4 defects / 5 units inspected = 0.8.
    assert report.defects == 4
    assert report.defects_per_unit == pytest.approx(0.8)


def test_defect_pareto(report: KpiReport) -> None:
    # Most first, ties by name; share of the 4 defects.
    assert report.pareto_by_code == [
        ParetoEntry("scratch", 2, 0.5),
        ParetoEntry("leak", 1, 0.25),
        ParetoEntry("torque-low", 1, 0.25),
    ]
    assert report.pareto_by_station == [
        ParetoEntry("st-10", 2, 0.5),
        ParetoEntry("st-20", 1, 0.25),
        ParetoEntry("st-30", 1, 0.25),
    ]


def test_downtime_by_reason_keeps_planned_stops_apart(report: KpiReport) -> None:
    assert report.downtime_by_station == [
        DowntimeEntry("st-20", "down", "torque tool fault", False, 300.0, 1),
        DowntimeEntry("st-30", "planned-stop", "team meeting", True, 300.0, 1),
    ]
    assert report.downtime_total == [
        DowntimeEntry(None, "down", "torque tool fault", False, 300.0, 1),
        DowntimeEntry(None, "planned-stop", "team meeting", True, 300.0, 1),
    ]
    assert (report.planned_stop_s, report.unplanned_down_s) == (300.0, 300.0)


def test_station_oee(report: KpiReport) -> None:
    st10, st20, st30 = (station(report, s) for s in ("st-10", "st-20", "st-30"))
    # st-10: PBT 3600, APT 3600 (no stop). PQ: cars 1-5 completed it in the window (car 0
    # at -10, before). E = 50 s x 5 / 3600 s = 0.069444. GQ counts the cars first time
    # through there (no failed check and no defect opened at st-10): st-10 opened scratches
    # on cars 2 and 3, so GQ = 3 and Q = 3 / 5; OEE = 50 x 3 / 3600 = 0.041667. (Until
    # issue 15 a station's GQ looked only at failed checks and said GQ 5, Q 1, beside a
    # line quality ratio that counted the same scratches.)
    assert (st10.planned_busy_s, st10.actual_production_s) == (3600.0, 3600.0)
    assert (st10.processed, st10.good) == (5, 3)
    assert st10.availability == 1.0
    assert st10.effectiveness == pytest.approx(250 / 3600)
    assert st10.quality_ratio == pytest.approx(0.6)
    assert st10.oee == pytest.approx(150 / 3600)
    # st-20: PBT 3600, down 300 -> APT 3300; A = 3300 / 3600 = 0.916667.
    # PQ: cars 0-3 (car 4 was scrapped there, never completed it). Car 2 failed torque
    # (and its torque-low defect was opened here): GQ 3 (car 4's failed check does not
    # count: it was not processed).
    # E = 55 x 4 / 3300 = 0.066667; Q = 3 / 4; OEE = 55 x 3 / 3600 = 0.045833.
    assert (st20.planned_busy_s, st20.unplanned_down_s, st20.actual_production_s) == (
        3600.0,
        300.0,
        3300.0,
    )
    assert (st20.processed, st20.good) == (4, 3)
    assert st20.availability == pytest.approx(3300 / 3600)
    assert st20.effectiveness == pytest.approx(55 * 4 / 3300)
    assert st20.quality_ratio == pytest.approx(0.75)
    assert st20.oee == pytest.approx(55 * 3 / 3600)
    # st-30: planned stop 300 -> PBT 3300 = APT. PQ: cars 0-3; car 3 failed leak (and its
    # leak defect was opened here): GQ 3.
    # E = 40 x 4 / 3300 = 0.048485; OEE = 40 x 3 / 3300 = 0.036364.
    assert (st30.planned_busy_s, st30.planned_stop_s, st30.actual_production_s) == (
        3300.0,
        300.0,
        3300.0,
    )
    assert (st30.processed, st30.good) == (4, 3)
    assert st30.availability == 1.0
    assert st30.effectiveness == pytest.approx(160 / 3300)
    assert st30.oee == pytest.approx(120 / 3300)


def test_line_oee(report: KpiReport) -> None:
    (line,) = report.lines
    # PBT: st-30's 3300 s. Unplanned: time when any station was down (st-20, 300 s).
    # APT = 3000; A = 3000 / 3300 = 0.909091. PRU = takt 60 s, PQ = 4 completed:
    # E = 60 x 4 / 3000 = 0.08. GQ = completed cars first time through (no failed check,
    # no defect opened): cars 0, 1;
    # Q = 2 / 4 = 0.5. OEE = 0.909091 x 0.08 x 0.5 = 0.036364 (= 60 x 2 / 3300).
    assert (line.planned_busy_s, line.unplanned_down_s, line.actual_production_s) == (
        3300.0,
        300.0,
        3000.0,
    )
    assert (line.completed, line.good) == (4, 2)
    assert line.availability == pytest.approx(3000 / 3300)
    assert line.effectiveness == pytest.approx(0.08)
    assert line.quality_ratio == pytest.approx(0.5)
    assert line.oee == pytest.approx(60 * 2 / 3300)


def test_bottleneck_by_average_active_period(report: KpiReport) -> None:
    st10, st20, st30 = (station(report, s) for s in ("st-10", "st-20", "st-30"))
    # st-10: cars 1-5 work 50 s each (car 0 before the window); every car is followed by
    # waiting (10 s starved, car 4 by 2770 s until car 5): 5 periods of 50 s.
    assert (st10.active_s, st10.active_periods, st10.average_active_period_s) == (250.0, 5, 50.0)
    assert (st10.starved_s, st10.blocked_s) == (10 + 10 + 10 + 2770, 0.0)
    # st-20: car 0 works 0-45 (in the window), then 5 s starved (car 1 starts at 50);
    # car 1 50-110 and car 2 110-170 back to back; car 2 waits 170-175 for st-30 (blocked:
    # car 2 starts st-30 at 175); car 3 175-235. Periods: 45, 60 + 60, 60: 225 / 3 = 75.
    assert (st20.active_s, st20.active_periods, st20.average_active_period_s) == (225.0, 3, 75.0)
    assert (st20.starved_s, st20.blocked_s) == (5.0, 5.0)
    # st-30: car 0 45-100, starved 10; cars 1 110-175 and 2 175-215 back to back; starved
    # 20; car 3 235-275. Periods: 55, 65 + 40, 40: 200 / 3 = 66.667.
    assert (st30.active_s, st30.active_periods, st30.average_active_period_s) == (
        200.0,
        3,
        66.667,
    )
    assert (st30.starved_s, st30.blocked_s) == (30.0, 0.0)
    # Shares of PBT.
    assert st20.active_share == pytest.approx(225 / 3600)
    assert st20.blocked_share == pytest.approx(5 / 3600)
    assert st30.starved_share == pytest.approx(30 / 3300)
    # The longest average active period: st-20.
    assert report.bottleneck == "st-20"
    assert [row.station for row in report.stations if row.bottleneck] == ["st-20"]
    assert report.lines[0].bottleneck == "st-20"


def test_report_is_plain_data(report: KpiReport) -> None:
    data = msgspec.to_builtins(report)
    assert data["since"] == "2025-06-30T00:00:00Z"
    assert data["stations"][1]["station"] == "st-20"
    assert msgspec.json.decode(msgspec.json.encode(report))["completed"] == 4


def test_visits_without_started_at(kpi_empty: Engine) -> None:
    # Without started_at, a visit starts at the later of the previous completion and
    # completion - cycle_s: at st-10 (cycle 50 s) that is exactly when the cars started.
    items = example_events(example_plant())
    for item in items:
        if item["kind"] == "station.completed" and item["station"] == "st-10":
            del item["started_at"]
    ingest(kpi_empty, items)
    st10 = station(kpi_report(kpi_empty, since=at(0), until=at(3600)), "st-10")
    assert (st10.active_s, st10.active_periods, st10.starved_s) == (250.0, 5, 2800.0)


def test_bottleneck_analysis_covers_the_last_seven_days(kpi_store: Engine) -> None:
    report = kpi_report(kpi_store, since=at(-30 * 86400), until=at(3600))
    assert report.bottleneck_since == at(3600 - 7 * 86400)
    assert report.bottleneck == "st-20"
    short = kpi_report(kpi_store, since=at(0), until=at(3600))
    assert short.bottleneck_since == at(0)
