"""Fixtures for API tests: a small store with example cars, the app, a client, tokens."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from linespeed import cli
from linespeed.access.tokens import create_token
from linespeed.api import ApiSettings, create_app
from linespeed.events.types import Event
from linespeed.plant.model import Plant
from linespeed.sim.example import ExampleSettings, example_events
from tests.conftest import ingest

CARS = 6


@pytest.fixture
def example(plant: Plant) -> list[Event]:
    """The example stream of CARS cars (every one completed and shipped)."""
    return list(example_events(plant, ExampleSettings(cars=CARS)))


@pytest.fixture
def store(engine: Engine, example: list[Event]) -> Engine:
    """The temp-file store holding the example cars."""
    ingest(engine, example)
    return engine


@pytest.fixture
def app(store: Engine) -> FastAPI:
    """The application over the example store (its cars are dated 2025: no age limit)."""
    return create_app(store, ApiSettings(live_window=None))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client of the app that raises nothing: every answer is checked by status."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass(frozen=True)
class Tokens:
    """A token of each role, and an operator limited to station ga-090."""

    viewer: str
    operator: str
    engineer: str
    admin: str
    ga090: str

    def header(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {getattr(self, role)}"}


@pytest.fixture
def tokens(store: Engine) -> Tokens:
    """One token of each role in the store."""
    made = {role: create_token(store, role).token for role in ("viewer", "operator", "engineer")}
    return Tokens(
        admin=create_token(store, "admin").token,
        ga090=create_token(store, "operator", stations=["ga-090"]).token,
        **made,
    )


@pytest.fixture
def run_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db_url: str
) -> Callable[..., Any]:
    """Run `linespeed ARGS --json` in-process on the test store; returns the parsed JSON."""
    monkeypatch.setenv("LINESPEED_DB", db_url)

    def invoke(*args: str) -> Any:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["linespeed", *args, "--json"])
        try:
            cli.main()
        except SystemExit as stop:
            assert not stop.code, capsys.readouterr().err
        return json.loads(capsys.readouterr().out)

    return invoke
