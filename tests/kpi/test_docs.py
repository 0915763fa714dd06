"""The worked example in docs/kpi.md shows the numbers the report computes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from linespeed.kpi import kpi_report
from tests.kpi.example import at

DOC = (Path(__file__).parents[2] / "docs" / "kpi.md").read_text()


@pytest.mark.slow
def test_worked_example_numbers_are_in_the_docs(kpi_store: Engine) -> None:
    report = kpi_report(kpi_store, since=at(0), until=at(3600))
    (line,) = report.lines
    st10, st20, st30 = report.stations
    shown = [
        f"produced = {report.produced} (cars 1-6",
        f"completed = {report.completed} (cars",
        f"scrapped = {report.scrapped} (car 4)",
        f"= **{report.wip}**",
        f"= {report.production_hours:.6f} h",
        f"JPH = 4 / 0.916667 = **{report.jph:.4f}**",
        f"JPH / takt JPH = **{report.jph_vs_takt:.4f}**",
        f"1 elapsed hour = **{report.throughput_rate:g}**",
        f"FPY = 2 / 5 = **{report.first_pass_yield:g}**",
        f"DPU = 4 / 5 = **{report.defects_per_unit:g}**",
        f"Availability = 3000 / 3300 = **{line.availability:.6f}**",
        f"effectiveness = 60 × 4 / 3000 = **{line.effectiveness:g}**",
        f"quality ratio = 2 / 4 = **{line.quality_ratio:g}**",
        f"OEE = **{line.oee:.6f}**",
        f"| 1 | 50×5/3600 = {st10.effectiveness:.6f} | {st10.quality_ratio:g} | {st10.oee:.6f} |",
        f"| 0.75 | {st20.oee:.6f} |",
        f"| 0.75 | {st30.oee:.6f} |",
        f"225 / 3 = **{st20.average_active_period_s:g}**",
        f"200 / 3 = {st30.average_active_period_s:g}",
        f"active 225 / 3600 = {st20.active_share:.4f}",
        f"= {st10.starved_s:g} | 0 |",
    ]
    missing = [text for text in shown if text not in DOC]
    assert missing == []
