"""The line board read from across a hall: legible station names, every marker explained,
a stopped station's reason in words, no state told apart from a planned stop, and a station
starved for parts marked as such. Each check saves a screenshot for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from linespeed.access.tokens import create_token
from linespeed.api import ApiSettings
from linespeed.api.server import running_server
from linespeed.events.types import StationState
from linespeed.plant.model import Plant
from linespeed.sim.example import ExampleSettings, example_events
from tests.conftest import ingest, make_store
from tests.e2e.conftest import CARS, Line, screenshot

pytestmark = pytest.mark.slow

SILENT = "body-020"
"""A station that never reports a state."""
STATES = [
    ("ga-090", "down", "torque tool"),
    ("ga-120", "starved", "shortage:BAT-1001"),
    ("paint-010", "planned-stop", "shift change"),
    ("ga-010", "starved", None),
]
TS = "2025-06-30T14:10:00+08:00"


@pytest.fixture
def board(db_url: str, plant: Plant) -> Iterator[Line]:
    """The dashboard over CARS example cars, one silent station and a few stopped ones."""
    store = make_store(db_url, plant)
    events = [
        event
        for event in example_events(plant, ExampleSettings(cars=CARS))
        if not (isinstance(event, StationState) and event.station == SILENT)
    ]
    ingest(store, events)
    viewer = create_token(store, "viewer").token
    operator = create_token(store, "operator").token
    try:
        with (
            running_server(store, ApiSettings(poll_s=0.1, live_window=None)) as url,
            httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {operator}"}, timeout=30
            ) as api,
        ):
            line = Line(url, viewer, api, plant)
            line.post(
                [
                    {
                        "id": f"state-{station}",
                        "kind": "station.state",
                        "ts": TS,
                        "station": station,
                        "state": state,
                    }
                    | ({"reason": reason} if reason else {})
                    for station, state, reason in STATES
                ]
            )
            yield line
    finally:
        store.dispose()


def _open(page: Page, line: Line) -> None:
    page.goto(f"{line.url}/#token={line.viewer}")
    expect(page.get_by_test_id("live")).to_have_text("live")
    expect(page.locator('.station[data-station="ga-090"]')).to_have_attribute("data-state", "down")


def _background(page: Page, station: str) -> str:
    return str(
        page.locator(f'.station[data-station="{station}"]').evaluate(
            "box => [getComputedStyle(box).backgroundImage,"
            " getComputedStyle(box).backgroundColor].join(' ')"
        )
    )


def test_station_names_are_legible_and_whole(page: Page, board: Line) -> None:
    _open(page, board)
    names = page.locator(".station .name")
    expect(names).to_have_count(sum(len(line.stations) for line in board.plant.lines))
    sizes = names.evaluate_all(
        "names => names.map(n => [parseFloat(getComputedStyle(n).fontSize),"
        " n.scrollHeight <= n.clientHeight + 1, n.scrollWidth <= n.clientWidth + 1])"
    )
    assert all(size >= 18 and tall and wide for size, tall, wide in sizes), sizes
    screenshot(page, "board-station-names")


def test_every_marker_is_explained_in_the_legend(page: Page, board: Line) -> None:
    _open(page, board)
    legend = page.get_by_test_id("legend")
    for words in (
        "running",
        "starved (no car)",
        "starved for parts",
        "blocked",
        "down",
        "changeover",
        "planned stop",
        "no state reported",
        "quality gate",
        "bottleneck",
        "cars at the station",
    ):
        expect(legend).to_contain_text(words)
    screenshot(page, "board-legend")


def test_a_down_station_shows_its_reason_in_words(page: Page, board: Line) -> None:
    _open(page, board)
    stop = page.locator('#stops li[data-station="ga-090"]')
    expect(stop).to_contain_text("ga-090 down: torque tool")
    expect(stop).to_contain_text("since 14:10")
    # a station starved for want of a car is not a stop to explain
    expect(page.locator('#stops li[data-station="ga-010"]')).to_have_count(0)
    screenshot(page, "board-down-reason")


def test_no_state_is_told_apart_from_a_planned_stop(page: Page, board: Line) -> None:
    _open(page, board)
    silent = page.locator(f'.station[data-station="{SILENT}"]')
    expect(silent).to_have_attribute("data-state", "")
    expect(silent).to_have_attribute("title", f"{SILENT}: no state reported")
    assert _background(page, SILENT) != _background(page, "paint-010")
    expect(page.locator('.station[data-station="paint-010"]')).to_have_class("station planned-stop")
    screenshot(page, "board-no-state-and-planned-stop")


def test_a_station_starved_for_parts_is_marked(page: Page, board: Line) -> None:
    _open(page, board)
    starved = page.locator('.station[data-station="ga-120"]')
    expect(starved).to_have_class("station starved parts")
    assert _background(page, "ga-120") != _background(page, "ga-010")
    expect(page.locator('#stops li[data-station="ga-120"]')).to_contain_text(
        "ga-120 starved for parts: BAT-1001"
    )
    # it follows the live feed: parts arrive, the station runs, the mark goes
    board.post(
        [
            {
                "id": "state-ga-120-run",
                "kind": "station.state",
                "ts": "2025-06-30T14:20:00+08:00",
                "station": "ga-120",
                "state": "running",
            }
        ]
    )
    expect(starved).to_have_class("station running")
    expect(page.locator('#stops li[data-station="ga-120"]')).to_have_count(0)
    screenshot(page, "board-starved-for-parts")
