"""The dashboard in a real browser: loads with the line's data, shows the right counts,
and follows the live feed when events are posted."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from linespeed.access.tokens import create_token
from linespeed.api.server import running_server
from linespeed.events.types import UnitCompleted
from linespeed.live.board import line_board
from linespeed.store.engine import open_store
from linespeed.supply.stock import stock_report
from tests.e2e.conftest import CARS, Line, screenshot

pytestmark = pytest.mark.slow


def _open(page: Page, line: Line) -> list[str]:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{line.url}/#token={line.viewer}")
    expect(page.get_by_test_id("live")).to_have_text("live")
    expect(page.locator("#ramp-chart canvas").first).to_be_visible()
    return requested


def test_the_page_loads_with_the_line_and_the_right_counts(page: Page, line: Line) -> None:
    requested = _open(page, line)
    expect(page.get_by_test_id("completed")).to_have_text(str(CARS))
    expect(page.get_by_test_id("wip")).to_have_text("0")
    expect(page.get_by_test_id("next-milestone")).to_have_text(str(CARS + 1))
    expect(page.get_by_test_id("remaining")).to_have_text("1")
    expect(page.get_by_test_id("defect-count")).to_have_text("0")
    stations = [s.id for line_ in line.plant.lines for s in line_.stations]
    expect(page.locator(".station")).to_have_count(len(stations))
    expect(page.locator(f'.station[data-station="{stations[0]}"]')).to_have_attribute(
        "data-state", "running"
    )
    assert page.get_by_test_id("bottleneck").inner_text() in stations
    assert int(page.get_by_test_id("ramp-chart").get_attribute("data-points") or 0) > 2
    screenshot(page, "dashboard-loaded")
    # nothing comes from anywhere but the server: the chart library is packaged
    assert requested and all(url.startswith(line.url) for url in requested), requested


def test_the_page_follows_posted_events(page: Page, line: Line) -> None:
    _open(page, line)
    car = line.next_car(CARS + 1)
    vin = next(event.vin for event in car if isinstance(event, UnitCompleted))
    before_completion = [event for event in car if not isinstance(event, UnitCompleted)]
    line.post(before_completion)
    line.post(
        [
            {
                "id": "down-1",
                "kind": "station.state",
                "ts": "2025-06-30T14:10:00+08:00",
                "station": "ga-090",
                "state": "down",
                "reason": "torque tool",
            },
            {
                "id": "defect-1",
                "kind": "defect.opened",
                "ts": "2025-06-30T14:10:00+08:00",
                "vin": vin,
                "station": "ga-090",
                "defect": "scratch-1",
                "code": "paint-scratch",
                "severity": "major",
            },
        ]
    )
    expect(page.locator('.station[data-station="ga-090"]')).to_have_attribute("data-state", "down")
    expect(page.get_by_test_id("defect-count")).to_have_text("1")
    expect(page.get_by_test_id("defects")).to_contain_text(vin)
    expect(page.get_by_test_id("wip")).to_have_text("1")
    screenshot(page, "dashboard-station-down-and-open-defect")
    line.post(
        [
            {
                "id": "close-1",
                "kind": "defect.closed",
                "ts": "2025-06-30T14:20:00+08:00",
                "vin": vin,
                "defect": "scratch-1",
                "action": "repaired",
            },
            *[event for event in car if isinstance(event, UnitCompleted)],
        ]
    )
    expect(page.get_by_test_id("completed")).to_have_text(str(CARS + 1))
    expect(page.get_by_test_id("milestone-banner")).to_contain_text(vin)
    expect(page.get_by_test_id("defect-count")).to_have_text("0")
    expect(page.get_by_test_id("next-milestone")).to_have_text("1,000")
    screenshot(page, "dashboard-milestone-reached")


def test_without_a_token_the_page_says_how_to_get_one(page: Page, line: Line) -> None:
    page.goto(line.url)
    expect(page.get_by_test_id("login")).to_be_visible()
    expect(page.get_by_test_id("login")).to_contain_text("linespeed token create --role viewer")
    screenshot(page, "dashboard-no-token")


def test_a_simulated_line_shows_the_boards_numbers(page: Page, simulated_url: str) -> None:
    store = open_store(simulated_url)
    board = line_board(store)
    viewer = create_token(store, "viewer").token
    with running_server(store) as url:
        page.goto(f"{url}/#token={viewer}")
        expect(page.get_by_test_id("live")).to_have_text("live")
        today = board.today
        assert today.completed > 0
        expect(page.get_by_test_id("completed")).to_have_text(f"{today.completed:,}")
        plan = today.planned_at_takt if today.planned is None else today.planned
        expect(page.get_by_test_id("planned")).to_have_text(f"{plan:,}")
        expect(page.get_by_test_id("plan-note")).to_have_text(today.plan_note)
        expect(page.get_by_test_id("wip")).to_have_text(f"{today.wip:,}")
        expect(page.get_by_test_id("jph")).to_have_text(f"{today.jph:,.1f}")
        expect(page.get_by_test_id("fpy")).to_have_text(f"{100 * today.first_pass_yield:.1f}%")
        expect(page.get_by_test_id("bottleneck")).to_have_text(today.bottleneck or "–")
        expect(page.get_by_test_id("defect-count")).to_have_text(str(len(board.open_defects)))
        remaining = board.countdown.remaining or 0
        expect(page.get_by_test_id("remaining")).to_have_text(f"{remaining:,}")
        for station in board.stations[:: len(board.stations) // 6]:
            expect(page.locator(f'.station[data-station="{station.station}"]')).to_have_attribute(
                "data-state", station.state or ""
            )
        expect(page.locator("#ramp-chart canvas").first).to_be_visible()
        page.wait_for_timeout(300)
        screenshot(page, "dashboard-simulated-line")
    store.dispose()


def test_the_supply_tile_and_the_plan_curve_of_a_simulated_line(
    page: Page, simulated_url: str
) -> None:
    store = open_store(simulated_url)
    parts = [part for part in stock_report(store).parts if part.days_of_cover is not None][:3]
    assert len(parts) == 3, "the simulated store's parts have cover at the planned rate"
    viewer = create_token(store, "viewer").token
    with running_server(store) as url:
        page.goto(f"{url}/#token={viewer}")
        expect(page.get_by_test_id("live")).to_have_text("live")
        rows = page.get_by_test_id("supply").locator("tr")
        expect(rows).to_have_count(3)
        for row, part in zip(rows.all(), parts, strict=True):
            assert part.runs_out_on is not None and part.days_of_cover is not None
            expect(row).to_have_attribute("data-part", part.part)
            expect(row).to_contain_text(f"{part.days_of_cover:,.1f} d")
            expect(row).to_contain_text(f"{part.runs_out_on.day} {part.runs_out_on:%b}")
        expect(page.locator("#ramp-chart .u-legend")).to_contain_text("plan")
        expect(page.get_by_test_id("plan-note")).to_contain_text("plan")
        page.wait_for_timeout(300)
        screenshot(page, "dashboard-supply-and-plan")
    store.dispose()
