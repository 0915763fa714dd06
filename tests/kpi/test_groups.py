"""`kpi_report(by=...)` on the worked example: the same counts and rates, grouped."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from linespeed.kpi import KpiGroup, kpi_report
from tests.kpi.example import at


def group(groups: list[KpiGroup], key: str) -> KpiGroup:
    return next(row for row in groups if row.key == key)


def test_by_day_in_the_plant_time_zone(kpi_store: Engine) -> None:
    # 07:00 local on 30 June to 09:00 local on 1 July: two local days.
    report = kpi_report(kpi_store, since=at(-3600), until=at(25 * 3600), by="day")
    assert [row.key for row in report.groups] == ["2025-06-30", "2025-07-01"]
    first, second = report.groups
    # 30 June, 07:00 to midnight local (= 16:00 UTC): every car of the example, car 0 too.
    assert (first.since, first.until) == (at(-3600), at(16 * 3600))
    assert (first.produced, first.completed, first.scrapped, first.wip) == (7, 4, 1, 2)
    # PBT of st-30: shifts A and B run 06:00 to 17:00, so 07:00 to 17:00 = 36,000 s, less
    # the 300 s planned stop = 35,700 s = 9.916667 h (17:00 to midnight is off shift).
    assert first.production_hours == pytest.approx(35700 / 3600, abs=1e-6)
    assert first.jph == pytest.approx(4 / (35700 / 3600))
    # Throughput rate: 4 completed in 61,200 elapsed seconds (17 h).
    assert first.throughput_rate == pytest.approx(4 / 17)
    assert (first.units_inspected, first.units_first_pass, first.defects) == (5, 2, 4)
    assert first.first_pass_yield == pytest.approx(0.4)
    # Line OEE = takt x good / PBT = 60 x 2 / 35,700.
    assert first.oee == pytest.approx(60 * 2 / 35700)
    # 1 July, midnight to 09:00 local: nothing happens, cars 5 and 6 are still in production.
    assert (second.since, second.until) == (at(16 * 3600), at(25 * 3600))
    assert (second.produced, second.completed, second.scrapped, second.wip) == (0, 0, 0, 2)
    # Shift A starts at 06:00: 06:00 to 09:00 is production time.
    assert second.production_hours == pytest.approx(3.0)
    assert (second.jph, second.first_pass_yield, second.oee) == (0.0, 0.0, 0.0)


def test_by_shift(kpi_store: Engine) -> None:
    # Shift A ends and B starts at 08:30 (1800 s): the hour splits in two halves.
    report = kpi_report(kpi_store, since=at(0), until=at(3600), by="shift")
    assert [row.key for row in report.groups] == ["A", "B"]
    shift_a, shift_b = report.groups
    assert (shift_a.produced, shift_a.completed, shift_a.scrapped, shift_a.wip) == (4, 4, 1, None)
    # PBT of st-30 in A: 1800 s = 0.5 h; JPH = 4 / 0.5 = 8.
    assert shift_a.production_hours == 0.5
    assert shift_a.jph == pytest.approx(8.0)
    assert shift_a.throughput_rate == pytest.approx(8.0)
    assert (shift_a.units_inspected, shift_a.units_first_pass, shift_a.defects) == (5, 2, 4)
    # Line OEE in A: PBT 1800, st-20 down 300 -> APT 1500; 60 x 2 good / 1800.
    assert shift_a.oee == pytest.approx(60 * 2 / 1800)
    # B: cars 5 and 6 started; PBT = 1800 - 300 planned stop = 1500 s.
    assert (shift_b.produced, shift_b.completed, shift_b.scrapped) == (2, 0, 0)
    assert shift_b.production_hours == pytest.approx(1500 / 3600, abs=1e-6)
    assert (shift_b.jph, shift_b.oee, shift_b.first_pass_yield) == (0.0, 0.0, 0.0)
    # 17:00 to 06:00 is outside both shifts: no production hours there.
    longer = kpi_report(kpi_store, since=at(-3600), until=at(25 * 3600), by="shift")
    assert [row.key for row in longer.groups] == ["A", "B", "off-shift"]
    assert longer.groups[2].production_hours == 0.0


def test_by_model(kpi_store: Engine) -> None:
    report = kpi_report(kpi_store, since=at(0), until=at(3600), by="model")
    assert [row.key for row in report.groups] == ["s7", "x9"]
    s7, x9 = report.groups
    # s7: cars 0, 1, 2, 5. Started in the window: 1, 2, 5. Completed: 0, 1, 2. In
    # production at 09:00: 5. Inspected 0, 1, 2; car 2 failed: FPY 2/3; 2 defects (car 2).
    assert (s7.produced, s7.completed, s7.scrapped, s7.wip) == (3, 3, 0, 1)
    assert (s7.units_inspected, s7.units_first_pass, s7.defects) == (3, 2, 2)
    assert s7.first_pass_yield == pytest.approx(2 / 3)
    assert s7.defects_per_unit == pytest.approx(2 / 3)
    assert s7.jph == pytest.approx(3 / (3300 / 3600))
    assert s7.oee is None
    # x9: cars 3, 4, 6. Completed 3, scrapped 4, in production 6; inspected 3 and 4, both
    # failed a check; 2 defects (car 3).
    assert (x9.produced, x9.completed, x9.scrapped, x9.wip) == (3, 1, 1, 1)
    assert (x9.units_inspected, x9.units_first_pass, x9.defects) == (2, 0, 2)
    assert x9.first_pass_yield == 0.0
    assert x9.defects_per_unit == pytest.approx(1.0)
    assert x9.jph == pytest.approx(1 / (3300 / 3600))


def test_by_color(kpi_store: Engine) -> None:
    report = kpi_report(kpi_store, since=at(0), until=at(3600), by="color")
    assert [row.key for row in report.groups] == ["lava-orange", "pearl-white"]
    orange, white = report.groups
    # lava-orange: cars 2, 4, 6; pearl-white: cars 0, 1, 3, 5.
    assert (orange.produced, orange.completed, orange.scrapped, orange.wip) == (3, 1, 1, 1)
    assert (white.produced, white.completed, white.scrapped, white.wip) == (3, 3, 0, 1)


def test_by_station(kpi_store: Engine) -> None:
    report = kpi_report(kpi_store, since=at(0), until=at(3600), by="station")
    assert [row.key for row in report.groups] == ["st-10", "st-20", "st-30"]
    st10, st20, st30 = report.groups
    # completed = processed (PQ) at the station; defects per unit processed there.
    assert (st10.produced, st10.completed, st10.scrapped, st10.wip) == (None, 5, 0, None)
    # st-10 records no check, but it opened scratches on cars 2 and 3: a defect opened is
    # an inspection finding, so both were inspected there and neither is first time
    # through (FPY 0 / 2). Until issue 15 FPY looked only at checks and said 0 inspected.
    assert (st10.units_inspected, st10.units_first_pass, st10.defects) == (2, 0, 2)
    assert st10.defects_per_unit == pytest.approx(2 / 5)
    assert (st10.production_hours, st10.jph, st10.throughput_rate) == (1.0, 5.0, 5.0)
    # GQ at st-10: 5 processed less cars 2 and 3 (scratches opened there) = 3.
    assert st10.oee == pytest.approx(150 / 3600)
    # st-20: torque checked on cars 0-4; cars 2 and 4 failed (car 2's torque-low defect was
    # opened there too): FPY 3/5. Car 4 scrapped there.
    assert (st20.completed, st20.scrapped) == (4, 1)
    assert (st20.units_inspected, st20.units_first_pass) == (5, 3)
    assert st20.first_pass_yield == pytest.approx(0.6)
    assert st20.oee == pytest.approx(55 * 3 / 3600)
    # st-30: leak checked on cars 0-3; car 3 failed: FPY 3/4.
    assert (st30.units_inspected, st30.units_first_pass, st30.defects) == (4, 3, 1)
    assert st30.jph == pytest.approx(4 / (3300 / 3600))
    assert st30.oee == pytest.approx(40 * 3 / 3300)


def test_groups_add_up_to_the_report(kpi_store: Engine) -> None:
    whole = kpi_report(kpi_store, since=at(-3600), until=at(25 * 3600))
    for by in ("day", "shift", "model", "color"):
        report = kpi_report(kpi_store, since=at(-3600), until=at(25 * 3600), by=by)
        assert sum(row.completed for row in report.groups) == whole.completed, by
        assert sum(row.produced or 0 for row in report.groups) == whole.produced, by
        assert sum(row.scrapped for row in report.groups) == whole.scrapped, by
        assert sum(row.defects for row in report.groups) == whole.defects, by
