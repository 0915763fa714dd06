"""The plant's next milestones forecast by its twin, beside the curve fit (`ramp --twin`).

The twin is calibrated from the store's default window (`twin.calibrate`), then `whatif`
runs it to each target: P10/P50/P90 of the moment the car is completed. A target the plant
has already built by the window's end is left out with a note.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine

from linespeed.ramp.report import (
    DEFAULT_REFERENCES,
    RampReport,
    TwinBand,
    TwinForecasts,
    forecast_targets,
    ramp_report,
)
from linespeed.sim.whatif import whatif
from linespeed.twin.calibrate import Calibration, calibrate

DEFAULT_RUNS = 30


def twin_forecasts(
    fitted: Calibration, targets: Sequence[int], *, runs: int = DEFAULT_RUNS
) -> tuple[TwinForecasts, list[str]]:
    """P10/P50/P90 of when each target car is completed, from `runs` runs of the twin; and
    notes on targets it leaves out (already built). Raises SimInputError as `whatif` does."""
    loaded = fitted.loaded()
    built = fitted.history.completed_before_end
    bands: list[TwinBand] = []
    notes: list[str] = []
    for target in targets:
        if target <= built:
            notes.append(f"twin: car {target:,} was already built by the window's end")
            continue
        answer = whatif(loaded, until_units=target, runs=runs)
        p10, p50, p90 = (_moment(value) for value in (answer.p10, answer.p50, answer.p90))
        bands.append(TwinBand(target, p10, p50, p90))
    window = fitted.history.window
    return TwinForecasts(bands, runs, window.since, window.until, built), notes


def _moment(value: datetime | int) -> datetime:
    """A percentile of `whatif --until-units`: always a moment, never a count."""
    if isinstance(value, datetime):
        return value
    raise TypeError(f"whatif to a car answered a count ({value}), not a moment")


def ramp_report_with_twin(
    engine: Engine,
    *,
    references: Sequence[str] = DEFAULT_REFERENCES,
    targets: Sequence[int] = (),
    runs: int = DEFAULT_RUNS,
) -> RampReport:
    """`ramp.report.ramp_report` with the twin's forecasts of the same targets.

    Raises what `ramp_report`, `twin.calibrate.calibrate` and `whatif` raise.
    """
    report = ramp_report(engine, references=references, targets=targets)
    if report.plant is None:
        return report
    fitted = calibrate(engine)
    forecasts, notes = twin_forecasts(fitted, forecast_targets(engine, targets), runs=runs)
    return dataclasses.replace(report, twin=forecasts, notes=[*report.notes, *notes])
