"""KPIs of the line: counts, throughput, yield, defects, downtime, OEE, the bottleneck and
production time lost to parts shortages (`shortage`).

One query function, `kpi_report`, answers the CLI, the API and the dashboard; formulas and
a worked example are in docs/kpi.md.

- `query`: `kpi_report`, the one query.
- `finished`: reports of finished days and shifts, computed once and kept in the store.
- `report`: what it answers (`KpiReport`, `LineKpis`, `StationKpis`, `KpiGroup`, ...).
- `window`: the report window and the plant's calendar (days and shifts, plant time zone).
- `calendar`: the production calendar of a window (the stored plan's shifts, else the
  plant's) and what the plan asks for in it.
- `counts`: counting queries aggregated in SQL (started, completed, scrapped, in production).
- `states`: station states in a window: planned stops, unplanned down time, their source.
- `intervals`: sorted disjoint time intervals and how much of a span they cover.
- `oee`: ISO 22400-2 OEE of stations and lines, and the rates built from counts.
- `bottleneck`: the average active period method (Roser et al. 2001).
- `groups`: the `by` groupings: per day, shift, station, model or colour.
- `sql`: SQL helpers (epoch seconds per dialect, time buckets).
- `errors`: `KpiInputError` (`kpi.input`), naming the parameter and its value.
"""

from __future__ import annotations

from linespeed.kpi.errors import KpiInputError
from linespeed.kpi.query import kpi_report
from linespeed.kpi.report import (
    DowntimeEntry,
    GroupBy,
    KpiGroup,
    KpiReport,
    LineKpis,
    ParetoEntry,
    PartShortage,
    StationKpis,
    SupplierShortage,
)

__all__ = [
    "DowntimeEntry",
    "GroupBy",
    "KpiGroup",
    "KpiInputError",
    "KpiReport",
    "LineKpis",
    "ParetoEntry",
    "PartShortage",
    "StationKpis",
    "SupplierShortage",
    "kpi_report",
]
