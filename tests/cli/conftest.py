"""Fixtures for command-line tests: run `linespeed` in-process against the test database."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import cli_runner


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db_url: str) -> Any:
    """Run `linespeed ARGS` in-process against the test database."""
    monkeypatch.setenv("LINESPEED_DB", db_url)
    monkeypatch.setenv("COLUMNS", "200")
    return cli_runner(capsys, monkeypatch)
