"""Fixtures for browser tests: a running server over a small store, and Debian's Chromium.

Playwright's own browser download does not work here; `make test` installs the `chromium`
package, and the tests launch /usr/bin/chromium.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import Engine

from linespeed.access.tokens import create_token
from linespeed.api import ApiSettings
from linespeed.api.server import running_server
from linespeed.events.codec import encode_event
from linespeed.events.types import Event
from linespeed.plant.model import Milestones, Plant
from linespeed.sim.example import ExampleSettings, example_events
from tests.conftest import ingest, make_store

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parent / "screenshots"
CARS = 8
"""Cars in the store when the page opens; the next one is a milestone."""


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@pytest.fixture
def line_store(db_url: str, plant: Plant) -> Iterator[Engine]:
    """A store of CARS example cars on a plant whose next car (CARS + 1) is a milestone."""
    milestone = Milestones(also=(CARS + 1, 1000), color="lava-orange")
    store = make_store(db_url, plant.model_copy(update={"milestones": milestone}))
    ingest(store, list(example_events(plant, ExampleSettings(cars=CARS))))
    yield store
    store.dispose()


@pytest.fixture(scope="module")
def simulated_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store like the demo's: the bundled scenario's first days, every event a line sends."""
    url = f"sqlite:///{tmp_path_factory.mktemp('simulated') / 'linespeed.db'}"
    linespeed = str(Path(sys.executable).with_name("linespeed"))
    for command in (["init", "--simulation"], ["simulate", "--days", "3", "--into-db"]):
        subprocess.run([linespeed, *command, "--db", url], check=True, capture_output=True)
    return url


@dataclass(frozen=True)
class Line:
    """The server's URL, a client with an operator token, and the viewer token."""

    url: str
    viewer: str
    api: httpx.Client
    plant: Plant

    def post(self, events: Sequence[Event | dict[str, Any]]) -> dict[str, Any]:
        """Post events as NDJSON; returns the answer's JSON (asserting 200)."""
        lines = [
            encode_event(event)
            if not isinstance(event, dict)
            else httpx.Response(200, json=event).content
            for event in events
        ]
        answer = self.api.post(
            "/api/v1/events",
            content=b"\n".join(lines),
            headers={"Content-Type": "application/x-ndjson"},
        )
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def next_car(self, number: int) -> list[Event]:
        """The events of car `number` (started after the stored ones, not shipped)."""
        settings = ExampleSettings(
            cars=1, first_number=number, ship=False, id_prefix=f"live{number}", seed=number
        )
        start = ExampleSettings().start.replace(hour=13)
        return list(
            example_events(self.plant, ExampleSettings(**{**settings.__dict__, "start": start}))
        )


@pytest.fixture
def line(line_store: Engine, plant: Plant) -> Iterator[Line]:
    """The API and dashboard running over the line store."""
    viewer = create_token(line_store, "viewer").token
    operator = create_token(line_store, "operator").token
    with (
        running_server(line_store, ApiSettings(poll_s=0.1, live_window=None)) as url,
        httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {operator}"}, timeout=30
        ) as api,
    ):
        yield Line(url, viewer, api, plant)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A 1920x1080 page (the line's screen)."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


def screenshot(page: Page, name: str) -> Path:
    """Save the page as tests/e2e/screenshots/NAME.png for a person to look at."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
