"""Fixtures for the after-sales tests: the store tests run on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.backends import any_db_url, any_memory_engine, backend
from tests.conftest import Result, cli_runner

__all__ = ["any_db_url", "any_memory_engine", "backend"]


@pytest.fixture
def run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """Run `linespeed ARGS` in-process (no LINESPEED_DB: tests give --db)."""
    monkeypatch.delenv("LINESPEED_DB", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return cli_runner(capsys, monkeypatch)
