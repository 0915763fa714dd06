"""KPIs of the line: counts, throughput, yield, defects, downtime, OEE and the bottleneck.

One query function, `kpi_report`, answers the CLI, the API and the dashboard; formulas and
a worked example are in docs/kpi.md.
"""

from __future__ import annotations

from linespeed.kpi.query import kpi_report
from linespeed.kpi.report import (
    DowntimeEntry,
    GroupBy,
    KpiGroup,
    KpiReport,
    LineKpis,
    ParetoEntry,
    StationKpis,
)

__all__ = [
    "DowntimeEntry",
    "GroupBy",
    "KpiGroup",
    "KpiReport",
    "LineKpis",
    "ParetoEntry",
    "StationKpis",
    "kpi_report",
]
