"""`kpi_report`: the one query behind `linespeed kpi`, the API and the dashboard."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final, get_args

from sqlalchemy import Connection, Engine

from linespeed.kpi.bottleneck import ActivePeriods, active_periods, analysis_window
from linespeed.kpi.calendar import Calendar, load_calendar
from linespeed.kpi.counts import (
    QualityCounts,
    Slicing,
    StationCounts,
    UnitCounts,
    defect_pareto,
    quality_counts,
    station_counts,
    unit_counts,
    wip_at,
)
from linespeed.kpi.errors import KpiInputError
from linespeed.kpi.finished import finished_key, keep_report, load_report, mark_checked
from linespeed.kpi.groups import Context, report_groups
from linespeed.kpi.oee import line_oee, ratio, station_kpis
from linespeed.kpi.report import GroupBy, KpiReport, LineKpis, ParetoEntry, StationKpis
from linespeed.kpi.shortage import shortages, with_parts_starvation
from linespeed.kpi.states import SOURCES, LineTimelines, downtime_entries, load_timelines
from linespeed.kpi.window import Bucket, Window, resolve_window
from linespeed.plant.model import Line, Plant
from linespeed.store.plants import current_plant

MAX_GROUPED_SPAN: Final = timedelta(days=1000)
"""The longest window reported per day or per shift (about 2.7 years of buckets)."""


def kpi_report(
    engine: Engine,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    by: GroupBy | None = None,
    keep: bool = True,
) -> KpiReport:
    """Counts, throughput, quality, downtime, OEE and the bottleneck over [since, until).

    Left out, the window runs from the first event a KPI counts to the second after the
    last one. With `by`, the counts and rates are also given per day (plant time zone),
    shift, station, model or colour. An empty store or window gives zeros and a note,
    never NaN. Formulas: docs/kpi.md.

    Raises KpiInputError (code "kpi.input") if since > until, a time has no UTC offset or
    lies before 1970 or after 2200 (UTC), `by` is not one of the groupings, or a window
    grouped by day or shift is longer than MAX_GROUPED_SPAN; StoreError if the store holds no plant.

    The report of a finished plant-local day or shift is computed once and kept in the
    store (`linespeed.kpi.finished`), until a later event reaches it; it is the same as the
    report computed again from the visits, which `keep=False` does.
    """
    if by is not None and by not in get_args(GroupBy):
        raise KpiInputError(
            f"by {by!r} is not one of {', '.join(get_args(GroupBy))}", parameter="by", value=by
        )
    with engine.connect() as connection:
        plant = current_plant(connection)
        window, has_events = resolve_window(connection, plant, since, until)
        key = finished_key(connection, plant, window, by) if keep else None
        kept = None if key is None else load_report(connection, key)
        report = kept[0] if kept else _report(connection, plant, window, has_events, by)
    if key is not None and kept is None:
        keep_report(engine, key, report)
    elif key is not None and kept is not None:
        mark_checked(engine, key, kept[1])
    return report


def _report(
    connection: Connection, plant: Plant, window: Window, has_events: bool, by: GroupBy | None
) -> KpiReport:
    if by in ("day", "shift") and window.until - window.since > MAX_GROUPED_SPAN:
        raise KpiInputError(
            lambda n: (
                f"by {by}: the window {window.since.isoformat()} to {window.until.isoformat()} is"
                f" longer than {MAX_GROUPED_SPAN.days} days; give a shorter"
                f" {n('since')}/{n('until')}"
            ),
            parameter="by",
            value=by,
        )
    whole = Bucket(0, window.since, window.until)
    stations = [station.id for line in plant.lines for station in line.stations]
    calendar = load_calendar(connection, plant, window)
    timelines = load_timelines(connection, plant, window, calendar)
    units = unit_counts(connection, Slicing([whole]))
    quality = quality_counts(connection, Slicing([whole]), stations).get((0, ""), QualityCounts())
    per_station = station_counts(connection, whole, stations)
    station_rows: list[StationKpis] = []
    line_rows: list[LineKpis] = []
    periods: dict[str, ActivePeriods] = {}
    analysed = analysis_window(window)
    for line in plant.lines:
        line_periods = active_periods(connection, line, analysed, timelines[line.id].stations)
        periods.update(line_periods)
        bottleneck = _bottleneck(line_periods)
        station_rows += _station_rows(
            line, timelines[line.id], window, per_station, line_periods, bottleneck
        )
        mine = [counts for (_, _, line_id), counts in units.items() if line_id == line.id]
        line_rows.append(_line_row(line, timelines[line.id], window, mine, bottleneck, calendar))
    by_code, by_station = defect_pareto(connection, whole)
    downtime_by_station, downtime_total = downtime_entries(timelines)
    jph = sum(row.jph for row in line_rows)
    takt_jph = sum(row.takt_jph for row in line_rows)
    produced = sum(counts.produced for counts in units.values())
    completed = sum(counts.completed for counts in units.values())
    context = Context(
        connection, plant, window, timelines, line_rows, station_rows, per_station, calendar
    )
    spans = [(window.since_s, window.until_s)]
    planned = calendar.planned(spans)
    shown = max(line_rows, key=lambda row: row.production_hours)
    lost = shortages(connection, plant, window)
    return KpiReport(
        plant=plant.plant,
        since=window.since,
        until=window.until,
        produced=produced,
        completed=completed,
        scrapped=sum(counts.scrapped for counts in units.values()),
        wip=max(wip_at(connection, window.until, None).get("", 0), 0),
        production_hours=shown.production_hours,
        production_hours_source=shown.production_hours_source,
        jph=jph,
        takt_jph=takt_jph,
        jph_vs_takt=ratio(jph, takt_jph),
        throughput_rate=ratio(completed, window.seconds / 3600.0),
        planned=_round(planned),
        planned_vs_actual=None if planned is None else ratio(completed, planned),
        units_inspected=quality.inspected,
        units_first_pass=quality.first_pass,
        first_pass_yield=ratio(quality.first_pass, quality.inspected),
        defects=quality.defects,
        defects_per_unit=ratio(quality.defects, quality.inspected),
        pareto_by_code=_pareto(by_code),
        pareto_by_station=_pareto(by_station),
        planned_stop_s=round(sum(row.planned_stop_s for row in station_rows), 3),
        unplanned_down_s=round(sum(row.unplanned_down_s for row in station_rows), 3),
        downtime_total=downtime_total,
        downtime_by_station=downtime_by_station,
        lines=line_rows,
        stations=with_parts_starvation(station_rows, lost, analysed),
        bottleneck=_bottleneck(
            {row.bottleneck: periods[row.bottleneck] for row in line_rows if row.bottleneck}
        ),
        bottleneck_since=analysed.since,
        by=by,
        groups=report_groups(context, by) if by is not None else [],
        shortage_by_part=lost.by_part,
        shortage_by_supplier=lost.by_supplier,
        notes=_notes(has_events, window, produced, completed, station_rows, line_rows, calendar),
        plan_coverage=calendar.coverage(spans),
    )


def _round(planned: float | None) -> float | None:
    return None if planned is None else round(planned, 2)


def _station_rows(
    line: Line,
    timelines: LineTimelines,
    window: Window,
    counts: dict[str, StationCounts],
    periods: dict[str, ActivePeriods],
    bottleneck: str | None,
) -> list[StationKpis]:
    spans = [(window.since_s, window.until_s)]
    return [
        station_kpis(
            station,
            line,
            timelines,
            spans,
            counts[station.id].processed,
            counts[station.id].bad,
            periods[station.id],
            bottleneck=station.id == bottleneck,
        )
        for station in line.stations
    ]


def _line_row(
    line: Line,
    timelines: LineTimelines,
    window: Window,
    units: list[UnitCounts],
    bottleneck: str | None,
    calendar: Calendar,
) -> LineKpis:
    completed = sum(counts.completed for counts in units)
    good = sum(counts.good for counts in units)
    figures = line_oee(line, timelines, [(window.since_s, window.until_s)], completed, good)
    hours = figures.planned_busy_s / 3600.0
    jph = ratio(completed, hours)
    takt_jph = 3600.0 / line.takt_s
    planned = calendar.planned([(window.since_s, window.until_s)], line=line.id)
    return LineKpis(
        line=line.id,
        takt_s=line.takt_s,
        takt_jph=takt_jph,
        production_hours=round(hours, 6),
        production_hours_source=timelines.source_s,
        completed=completed,
        jph=jph,
        jph_vs_takt=ratio(jph, takt_jph),
        planned_busy_s=round(figures.planned_busy_s, 3),
        unplanned_down_s=round(figures.unplanned_down_s, 3),
        actual_production_s=round(figures.actual_production_s, 3),
        good=good,
        availability=figures.availability,
        effectiveness=figures.effectiveness,
        quality_ratio=figures.quality_ratio,
        oee=figures.oee,
        bottleneck=bottleneck,
        planned=_round(planned),
        planned_vs_actual=None if planned is None else ratio(completed, planned),
    )


def _bottleneck(periods: dict[str, ActivePeriods]) -> str | None:
    """The station with the longest average active period (the first one on a tie)."""
    best: str | None = None
    for station, figures in periods.items():
        if figures.periods and (best is None or figures.average_s > periods[best].average_s):
            best = station
    return best


def _pareto(entries: list[tuple[str, int]]) -> list[ParetoEntry]:
    total = sum(count for _, count in entries)
    return [ParetoEntry(key, count, ratio(count, total)) for key, count in entries]


def _notes(
    has_events: bool,
    window: Window,
    produced: int,
    completed: int,
    stations: list[StationKpis],
    lines: list[LineKpis],
    calendar: Calendar,
) -> list[str]:
    notes: list[str] = []
    if not has_events:
        notes.append("the store holds no events yet: every count and rate is zero")
    elif window.seconds <= 0:
        notes.append("the window is empty (since = until): every count and rate is zero")
    elif not produced and not completed and not any(row.processed for row in stations):
        notes.append("no car was started, processed or completed in the window: rates are zero")
    notes += _source_notes(lines)
    coverage = calendar.coverage([(window.since_s, window.until_s)])
    if calendar.planned([(window.since_s, window.until_s)]) is None:
        notes.append("no production plan covers the window: planned and planned_vs_actual are None")
    elif coverage is not None and coverage < 1:
        notes.append(
            f"the plan covers {coverage:.0%} of the window (plan_coverage): planned counts "
            "only the days a plan revision covers"
        )
    unsplit = sum(piece.quantity for piece in calendar.slices if piece.model is None)
    if unsplit:
        notes.append(
            "plan rows without a model are not split by model: planned per model leaves them out"
        )
    if len(lines) > 1:
        notes.append(
            "several lines: jph and takt_jph are summed over the lines; production_hours "
            "is the longest of the lines'"
        )
    return notes


def _source_notes(lines: list[LineKpis]) -> list[str]:
    """Where planned stops come from, when not (only) from station states."""
    seconds = {
        name: sum(row.production_hours_source.get(name, 0.0) for row in lines) for name in SOURCES
    }
    notes: list[str] = []
    if seconds["shift_plan"] and not any(seconds[n] for n in ("station_states", "calendar")):
        notes.append(
            "no station state marks a planned stop in the window: planned stops come from "
            "the plant's shifts"
        )
    elif seconds["shift_plan"]:
        notes.append(
            "where no planned-stop state marks them and no plan covers the day, planned "
            "stops come from the plant's shifts (production_hours_source)"
        )
    if seconds["calendar"]:
        notes.append(
            "where no planned-stop state marks them, planned stops come from the stored "
            "plan's calendar on the days it covers (the shifts it names)"
        )
    if seconds["window"]:
        notes.append(
            "no station states are stored and the plant has no shifts: the whole window "
            "is planned busy time"
        )
    return notes
