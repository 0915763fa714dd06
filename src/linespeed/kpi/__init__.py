"""KPIs of the line: counts, throughput, yield, defects, downtime, OEE, the bottleneck and
production time lost to parts shortages (`shortage`).

One query function, `kpi_report`, answers the CLI, the API and the dashboard; formulas and
a worked example are in docs/kpi.md. Bad windows or groupings raise `KpiInputError`
(`kpi.input`, from `errors`), naming the parameter and its value.
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
