"""The `by` groupings of a KPI report: per day, shift, station, model or colour."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from linespeed.kpi.calendar import Calendar
from linespeed.kpi.counts import (
    Attribute,
    QualityCounts,
    Slicing,
    StationCounts,
    UnitCounts,
    quality_counts,
    unit_counts,
    wip_at,
)
from linespeed.kpi.oee import line_oee, ratio
from linespeed.kpi.report import GroupBy, KpiGroup, LineKpis, StationKpis
from linespeed.kpi.states import LineTimelines
from linespeed.kpi.window import Bucket, Window, day_buckets, shift_buckets
from linespeed.plant.model import Plant


@dataclass(frozen=True)
class Context:
    """What the groupings need from the report being built."""

    connection: Connection
    plant: Plant
    window: Window
    timelines: dict[str, LineTimelines]
    lines: list[LineKpis]
    stations: list[StationKpis]
    station_counts: dict[str, StationCounts]
    calendar: Calendar


def report_groups(context: Context, by: GroupBy) -> list[KpiGroup]:
    """The report's groups for `by`, in time, flow or name order."""
    if by == "station":
        return _station_groups(context)
    if by in ("model", "color"):
        return _attribute_groups(context, by)
    if by == "day":
        keys, buckets = day_buckets(context.window, ZoneInfo(context.plant.timezone))
    else:
        keys, buckets = shift_buckets(context.plant, context.window)
    return _time_groups(context, keys, buckets, with_wip=by == "day")


def _stations(context: Context) -> list[str]:
    return [station.id for line in context.plant.lines for station in line.stations]


def _time_groups(
    context: Context, keys: list[str], buckets: Sequence[Bucket], *, with_wip: bool
) -> list[KpiGroup]:
    if not buckets:
        return []
    slicing = Slicing(buckets)
    units = unit_counts(context.connection, slicing)
    quality = quality_counts(context.connection, slicing, _stations(context))
    wip = wip_at(context.connection, context.window.since, None).get("", 0) if with_wip else 0
    groups: list[KpiGroup] = []
    for number, key in enumerate(keys):
        mine = [bucket for bucket in buckets if bucket.group == number]
        if not mine:
            continue
        spans = [(bucket.since.timestamp(), bucket.until.timestamp()) for bucket in mine]
        counts = {line: c for (g, _, line), c in units.items() if g == number}
        hours, jph, oees = _line_rates(context, spans, counts)
        total = _sum(counts.values())
        wip += total.produced - total.completed - total.scrapped
        groups.append(
            _group(
                key,
                total,
                quality.get((number, ""), QualityCounts()),
                hours=hours,
                jph=jph,
                elapsed_s=sum(hi - lo for lo, hi in spans),
                wip=max(wip, 0) if with_wip else None,
                oee=sum(oees) / len(oees) if oees else 0.0,
                bounds=(mine[0], mine[-1]) if with_wip else None,
                planned=context.calendar.planned(spans),
                plan_coverage=context.calendar.coverage(spans),
            )
        )
    return groups


def _attribute_groups(context: Context, attribute: Attribute) -> list[KpiGroup]:
    whole = Bucket(0, context.window.since, context.window.until)
    slicing = Slicing([whole], attribute)
    units = unit_counts(context.connection, slicing)
    quality = quality_counts(context.connection, slicing, _stations(context))
    wip = wip_at(context.connection, context.window.until, attribute)
    spans = [(context.window.since_s, context.window.until_s)]
    calendar = context.calendar
    # Per model only where plan rows name models (rows without one are not split).
    by_model = attribute == "model" and any(
        piece.model is not None and piece.reaches(spans) for piece in calendar.slices
    )
    values = sorted(
        {value for (_, value, _) in units}
        | {value for (_, value) in quality}
        | {value for value, count in wip.items() if count}
        | {
            piece.model
            for piece in calendar.slices
            if by_model and piece.model is not None and piece.reaches(spans)
        }
    )
    hours = {row.line: row.production_hours for row in context.lines}
    groups: list[KpiGroup] = []
    for value in values:
        counts = {line: c for (_, v, line), c in units.items() if v == value}
        jph = sum(ratio(c.completed, hours.get(line, 0.0)) for line, c in counts.items())
        groups.append(
            _group(
                value,
                _sum(counts.values()),
                quality.get((0, value), QualityCounts()),
                hours=max(hours.values(), default=0.0),
                jph=jph,
                elapsed_s=context.window.seconds,
                wip=max(wip.get(value, 0), 0),
                oee=None,
                bounds=None,
                planned=calendar.planned(spans, model=value) if by_model else None,
                plan_coverage=calendar.coverage(spans) if by_model else None,
            )
        )
    return groups


def _station_groups(context: Context) -> list[KpiGroup]:
    groups: list[KpiGroup] = []
    for row in context.stations:
        counts = context.station_counts[row.station]
        hours = row.planned_busy_s / 3600.0
        first_pass = counts.inspected - counts.failed
        groups.append(
            KpiGroup(
                key=row.station,
                since=None,
                until=None,
                produced=None,
                completed=row.processed,
                scrapped=counts.scrapped,
                wip=None,
                production_hours=round(hours, 6),
                jph=ratio(row.processed, hours),
                throughput_rate=ratio(row.processed, context.window.seconds / 3600.0),
                units_inspected=counts.inspected,
                units_first_pass=first_pass,
                first_pass_yield=ratio(first_pass, counts.inspected),
                defects=counts.defects,
                defects_per_unit=ratio(counts.defects, row.processed),
                oee=row.oee,
            )
        )
    return groups


def _sum(counts: Iterable[UnitCounts]) -> UnitCounts:
    total = UnitCounts()
    for c in counts:
        total.produced += c.produced
        total.completed += c.completed
        total.good += c.good
        total.scrapped += c.scrapped
    return total


def _line_rates(
    context: Context, spans: list[tuple[float, float]], counts: dict[str, UnitCounts]
) -> tuple[float, float, list[float]]:
    """(production hours, JPH, line OEEs) of the plant's lines over `spans`."""
    hours_by_line: list[float] = []
    jph = 0.0
    oees: list[float] = []
    for line in context.plant.lines:
        mine = counts.get(line.id, UnitCounts())
        figures = line_oee(line, context.timelines[line.id], spans, mine.completed, mine.good)
        hours = figures.planned_busy_s / 3600.0
        hours_by_line.append(hours)
        jph += ratio(mine.completed, hours)
        oees.append(figures.oee)
    return max(hours_by_line, default=0.0), jph, oees


def _group(
    key: str,
    units: UnitCounts,
    quality: QualityCounts,
    *,
    hours: float,
    jph: float,
    elapsed_s: float,
    wip: int | None,
    oee: float | None,
    bounds: tuple[Bucket, Bucket] | None,
    planned: float | None = None,
    plan_coverage: float | None = None,
) -> KpiGroup:
    return KpiGroup(
        key=key,
        since=bounds[0].since if bounds else None,
        until=bounds[1].until if bounds else None,
        produced=units.produced,
        completed=units.completed,
        scrapped=units.scrapped,
        wip=wip,
        production_hours=round(hours, 6),
        jph=jph,
        throughput_rate=ratio(units.completed, elapsed_s / 3600.0),
        units_inspected=quality.inspected,
        units_first_pass=quality.first_pass,
        first_pass_yield=ratio(quality.first_pass, quality.inspected),
        defects=quality.defects,
        defects_per_unit=ratio(quality.defects, quality.inspected),
        oee=oee,
        planned=None if planned is None else round(planned, 2),
        planned_vs_actual=None if planned is None else ratio(units.completed, planned),
        plan_coverage=plan_coverage,
    )
