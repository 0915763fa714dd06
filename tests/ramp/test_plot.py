"""The ramp picture is a real PNG with the plant, the references and the forecast."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from linespeed.ramp.forecast import forecast_target
from linespeed.ramp.plot import plot_ramps
from linespeed.ramp.references import reference_names, reference_series
from linespeed.ramp.series import series_from_counts
from tests.ramp.synthetic import ORIGIN

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_the_plot_writes_a_png(tmp_path: Path) -> None:
    days = [ORIGIN + timedelta(days=n) for n in range(200)]
    rates = 900 * (1 - np.exp(-np.arange(200) / 70))
    plant = series_from_counts(days, [int(rate) for rate in rates], label="Plant yz1")
    forecast = forecast_target(plant, 200_000)
    references = [reference_series(name) for name in reference_names()]
    path = plot_ramps(tmp_path / "ramp.png", plant, references, forecast_band=forecast)
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 10_000


@pytest.mark.slow
def test_references_alone_can_be_plotted(tmp_path: Path) -> None:
    path = plot_ramps(tmp_path / "refs.png", None, [reference_series("tesla-model-3")])
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_nothing_to_plot_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nothing to plot"):
        plot_ramps(tmp_path / "empty.png", None, [])


@pytest.mark.slow
def test_the_plan_is_drawn_beside_the_plant(tmp_path: Path) -> None:
    days = [ORIGIN + timedelta(days=n) for n in range(200)]
    plant = series_from_counts(days, [n * 4 for n in range(200)], label="Plant yz1")
    plan = series_from_counts(
        days, [n * 5 for n in range(200)], label="Plant yz1 plan", sop=plant.start
    )
    without = plot_ramps(tmp_path / "without.png", plant, []).read_bytes()
    beside = plot_ramps(tmp_path / "with.png", plant, [], plan_series=plan).read_bytes()
    assert beside.startswith(PNG_SIGNATURE)
    assert beside != without
