"""The CLI names its own flags where the library names parameters (`--from`, not `from`)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("simulate", "--out", "-", "--days", "0"), "--until-units and --days must be > 0, got 0"),
        (
            ("simulate", "--out", "-", "--days", "1", "--until-units", "5"),
            "give exactly one of --until-units and --days",
        ),
        (
            ("simulate", "--out", "-", "--until-units", "5", "--after-units", "0"),
            "--after-units must be >= 1, got 0",
        ),
    ],
)
def test_simulate_names_its_flags(run: Any, args: tuple[str, ...], message: str) -> None:
    refused = run(*args)
    assert refused.exit_code == 1
    assert f"error: {message}" in refused.stderr


def test_kpi_names_its_flags_for_a_window_too_long_to_group(run: Any, engine: Engine) -> None:
    refused = run(
        "kpi", "--by", "day", "--since", "2020-01-01T00:00Z", "--until", "2025-01-01T00:00Z"
    )
    assert refused.exit_code == 1
    assert "days; give a shorter --since/--until" in refused.stderr
    assert "since 2020-01-01T00:00:00+00:00" not in refused.stderr
