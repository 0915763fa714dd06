"""The after-sales picture: per region, vehicles in operation and service bays needed
against bays planned, month by month, as a PNG (matplotlib on its Agg backend)."""

from __future__ import annotations

import os
from datetime import date
from typing import Final

import matplotlib as mpl

mpl.use("Agg")

import matplotlib.pyplot as plt

from linespeed.aftersales.plan import AftersalesPlan

NEEDED_COLOR: Final = "#1f3b73"
PLANNED_COLOR: Final = "#d9822b"
VEHICLES_COLOR: Final = "#7f7f7f"


def plot_plan(path: str | os.PathLike[str], plan: AftersalesPlan) -> None:
    """Write the plan's picture to `path` (PNG): one panel per region, bays needed and
    planned on the left axis, vehicles in operation on the right."""
    regions = [region.region for region in plan.regions]
    figure, axes_list = plt.subplots(
        len(regions), 1, figsize=(9, 3.2 * len(regions)), squeeze=False, sharex=True
    )
    try:
        for axes, region in zip(axes_list[:, 0], regions, strict=True):
            rows = [row for row in plan.rows if row.region == region]
            months = [date(row.month.year, row.month.month, 1) for row in rows]
            axes.step(
                months,
                [row.bays_needed for row in rows],
                where="post",
                color=NEEDED_COLOR,
                label="bays needed",
            )
            if rows and rows[0].bays_planned is not None:
                axes.step(
                    months,
                    [row.bays_planned or 0 for row in rows],
                    where="post",
                    color=PLANNED_COLOR,
                    linestyle="--",
                    label="bays planned",
                )
            axes.set_ylabel("service bays")
            axes.set_ylim(bottom=0)
            axes.set_title(region)
            vehicles = axes.twinx()
            vehicles.plot(
                months,
                [row.vehicles for row in rows],
                color=VEHICLES_COLOR,
                linestyle=":",
                label="vehicles in operation",
            )
            vehicles.set_ylabel("vehicles in operation")
            lines = axes.get_legend_handles_labels()
            more = vehicles.get_legend_handles_labels()
            axes.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left")
        if plan.forecast_from is not None:
            start = date(plan.forecast_from.year, plan.forecast_from.month, 1)
            for axes in axes_list[:, 0]:
                axes.axvline(start, color="#bbbbbb", linewidth=1)
        figure.suptitle("After-sales capacity: service bays and vehicles in operation")
        figure.tight_layout()
        figure.savefig(path, format="png", dpi=100)
    finally:
        plt.close(figure)
