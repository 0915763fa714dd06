"""Forecasts on real ramps: from 3 points, through dips and plateaus, from the command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from linespeed.ramp.errors import RampForecastError
from linespeed.ramp.forecast import Forecast, forecast_target
from linespeed.ramp.references import reference_names, reference_rows, reference_series
from tests.conftest import Result, cli_runner


def test_a_young_program_after_three_points_gets_a_forecast() -> None:
    # Tesla Model 3 at the end of 2017: start of production and two quarters.
    young = reference_series("tesla-model-3").until(date(2017, 12, 31))
    assert len(young.points) == 3
    forecast = forecast_target(young, 10_000)
    assert forecast.low <= forecast.date <= (forecast.high or date.max)
    assert date(2018, 1, 1) <= forecast.date <= date(2019, 12, 31)


def plateau() -> list[tuple[date, float]]:
    """The rate climbs for four quarters, then holds at 1,000 cars a day for two years."""
    ends = [date(2023, 12, 31) + timedelta(days=91 * n) for n in range(13)]
    rates = [0, 200, 500, 800, 1_000, *[1_000] * 8]
    counts, total = [], 0.0
    for rate in rates:
        total += 91 * rate
        counts.append(total)
    return list(zip(ends, counts, strict=True))


def test_fewer_points_give_a_wider_band() -> None:
    points = plateau()

    def spread(forecast: Forecast) -> float:
        """The fast count's increase over the expected one at the band's end."""
        _, _, expected, fast = forecast.band()[-1]
        start = forecast.detail.last_cumulative
        return (fast - start) / (expected - start)

    young = forecast_target(points[:3], points[3][1])
    older = forecast_target(points, points[-1][1] + 91_000)
    assert spread(young) > spread(older) > 1


def test_two_points_are_refused_naming_the_count() -> None:
    series = [(date(2024, 3, 31), 100.0), (date(2024, 6, 30), 400.0)]
    with pytest.raises(RampForecastError) as caught:
        forecast_target(series, 1_000, source="two.csv")
    assert caught.value.code == "ramp.too_few_points"
    assert "at least 3 points" in str(caught.value)
    assert str(caught.value).endswith("it has 2")


@pytest.mark.parametrize(
    ("cut", "target", "truth"),
    [
        # NIO's deliveries fell by half in Q1 2019 and again in Q1 2020 (the second dip,
        # just before the cut, pulls the forecast late: the interval still holds the truth).
        (date(2019, 3, 31), 20_000, date(2019, 7, 22)),
        (date(2020, 3, 31), 50_000, date(2020, 7, 30)),
    ],
)
def test_a_dip_does_not_break_the_forecast(cut: date, target: int, truth: date) -> None:
    nio = reference_series("nio", "delivered")
    forecast = forecast_target(nio.until(cut), target)
    assert forecast.high is not None
    assert forecast.low <= truth <= forecast.high


def test_a_plateau_is_forecast_at_its_rate() -> None:
    points = plateau()
    last_day, total = points[-1]
    forecast = forecast_target(points, total + 182_000)
    expected = last_day + timedelta(days=182)
    assert abs((forecast.date - expected).days) <= 3
    assert forecast.high is not None and forecast.low <= expected <= forecast.high


def test_nio_and_li_auto_are_reference_ramps_with_sources() -> None:
    assert {"nio", "li-one"} <= set(reference_names())
    nio = reference_series("nio", "delivered")
    assert dict(nio.pairs())[date(2020, 3, 31)] == 35_751
    li = reference_series("li-one", "delivered")
    assert dict(li.pairs())[date(2021, 12, 31)] == 124_088
    assert all(
        row["source"].startswith("http")
        for row in reference_rows()
        if row["confidence"] != "synthetic"
    )


@pytest.fixture
def run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """`linespeed ARGS` in-process."""
    return cli_runner(capsys, monkeypatch)


def test_ramp_forecast_takes_sop_and_metric(run: Callable[..., Result], tmp_path: Path) -> None:
    path = tmp_path / "young.csv"
    path.write_text("period_end,quantity\n2024-06-30,27307\n2024-09-30,39790\n")
    refused = run("ramp", "forecast", "--csv", str(path), "--target", "100000")
    assert refused.exit_code == 1 and "it has 2" in refused.stdout + refused.stderr
    result = run(
        "ramp", "forecast", "--csv", str(path), "--target", "100000",
        "--sop", "2024-03-28", "--metric", "delivered", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["low"] <= body["date"] <= (body["high"] or "9999")
    assert "2024-10-01" <= body["date"] <= "2025-06-30"
    text = run(
        "ramp", "forecast", "--csv", str(path), "--target", "100000", "--sop", "2024-03-28",
        "--metric", "delivered",
    )  # fmt: skip
    assert "deliveries" in text.stdout


def test_ramp_forecast_plots_against_references(run: Callable[..., Result], tmp_path: Path) -> None:
    path = tmp_path / "young.csv"
    path.write_text("period_end,quantity\n2024-06-30,27307\n2024-09-30,39790\n")
    picture = tmp_path / "forecast.png"
    result = run(
        "ramp", "forecast", "--csv", str(path), "--target", "100000", "--sop", "2024-03-28",
        "--plot", str(picture), "--reference", "xiaomi-su7", "--reference", "nio",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {picture}" in result.stdout
    unknown = run(
        "ramp", "forecast", "--csv", str(path), "--target", "100000", "--sop", "2024-03-28",
        "--reference", "nope",
    )  # fmt: skip
    assert unknown.exit_code == 1 and "nope" in unknown.stdout + unknown.stderr
