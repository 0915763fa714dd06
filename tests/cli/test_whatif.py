"""`linespeed whatif`: the answer as text and JSON, --compare, and each bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import cli_runner


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    return cli_runner(capsys, monkeypatch)


def test_json_answer(run: Any) -> None:
    result = run("whatif", "--until-units", "1500", "--runs", "3", "--json")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert list(answer) == [
        "target", "runs", "p10", "p50", "p90", "cars_per_week", "bottleneck_share",
        "shortage_hours",
    ]  # fmt: skip
    assert answer["runs"] == 3
    assert answer["p10"].endswith("Z") and answer["p10"] <= answer["p50"] <= answer["p90"]


def test_text_and_compare(run: Any) -> None:
    from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH

    text = run("whatif", "--until", "2024-05-01", "--runs", "2")
    assert text.exit_code == 0, text.stderr
    assert "P50" in text.stdout and "cars" in text.stdout and "bottleneck: ga-140" in text.stdout
    both = run(
        "whatif", "--until-units", "1500", "--runs", "2", "--compare", str(DEFAULT_SCENARIO_PATH),
        "--json",
    )  # fmt: skip
    assert both.exit_code == 0, both.stderr
    answer = json.loads(both.stdout)
    assert list(answer) == ["base", "other", "difference_days"]
    assert answer["difference_days"] == {"p10": 0.0, "p50": 0.0, "p90": 0.0}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--until-units", "5", "--runs", "0"], "--runs must be from 1 to 10,000, got 0"),
        (["--until-units", "5", "--runs", "10001"], "--runs must be from 1 to 10,000"),
        (["--runs", "2"], "give exactly one of --until-units and --until"),
        (["--until-units", "5", "--until", "2024-05-01"], "give exactly one of --until-units"),
        (["--until", "2024-02-01"], "is not after the start of production"),
        (["--until", "May"], "--until must be a date"),
        (["--until-units", "100000000", "--runs", "1"], "is never completed"),
        (["--until-units", "5", "--set", "failures.stations.ga-14.mtbf_h=5"], "did you mean"),
        (["--until-units", "5", "--set", "failures.stations.ga-140.mtbf_h=x"], "must be a number"),
    ],
)
def test_bad_input(run: Any, arguments: list[str], message: str) -> None:
    result = run("whatif", *arguments)
    assert result.exit_code == 1
    assert message in result.stderr
