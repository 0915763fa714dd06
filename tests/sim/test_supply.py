"""The simulator's parts supply: receipts per lot, stock on hand, shortage stops, translation.

What a user sees is asserted: the emitted events (receipts, installs, station states), never
the planner's inner arrays, except where a figure of the scenario is the point (capacity).
"""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest
from sqlalchemy import Engine

from linespeed.events.types import PartReceived
from linespeed.ingest.core import Ingestor
from linespeed.ingest.lines import ingest_lines
from linespeed.sim.emit import event_lines
from linespeed.sim.run import SimRun, simulate
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, LoadedScenario, Supply, load_scenario

STORY_DAYS = 15 * 365.25 / 12
BASE = DEFAULT_SCENARIO_PATH.read_text()
DAY_S = 86_400.0


@pytest.fixture(scope="module")
def loaded() -> LoadedScenario:
    return load_scenario(DEFAULT_SCENARIO_PATH)


def _scenario(tmp_path: Path, text: str) -> LoadedScenario:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return load_scenario(path)


def _supply_events(run: SimRun) -> list[dict[str, Any]]:
    """The run's receipts, installs and station states, parsed, in emitted order."""
    wanted = (b'{"kind":"part.', b'{"kind":"station.state"')
    return [json.loads(line) for line in event_lines(run, receipts=True) if line.startswith(wanted)]


@pytest.fixture(scope="module")
def early_months(loaded: LoadedScenario) -> list[dict[str, Any]]:
    """The bundled scenario's first 45 days (its battery shortage starts in April)."""
    return _supply_events(simulate(loaded, days=45))


@pytest.mark.slow
def test_bundled_scenario_starves_for_packs_early_and_still_makes_300000_in_15_months(
    loaded: LoadedScenario, early_months: list[dict[str, Any]]
) -> None:
    starved = [
        e
        for e in early_months
        if e["kind"] == "station.state" and e.get("reason", "").startswith("shortage:")
    ]
    assert starved, "no shortage stop in the first 45 days"
    assert {(e["station"], e["state"], e["reason"]) for e in starved} == {
        ("ga-140", "starved", "shortage:BAT-1001")
    }
    run = simulate(loaded, until_units=300_000)
    waited = run.shortages[[s.id for s in run.line.stations].index("ga-140")]
    assert waited.begin_s.max() < 125 * DAY_S  # only in the first four months
    lost_h = float((waited.end_s - waited.begin_s).sum()) / 3600
    assert lost_h > 48, lost_h  # it costs the ramp days, not minutes
    day = run.until_s / DAY_S
    assert STORY_DAYS - 14 <= day <= STORY_DAYS + 14, day
    without = LoadedScenario(
        scenario=loaded.scenario.model_copy(update={"supply": Supply()}),
        plant=loaded.plant,
        source=loaded.source,
    )
    unconstrained = simulate(without, until_units=300_000)
    done, free = run.complete_s[:, -1], unconstrained.complete_s[:, -1]
    at_day_90 = int((done < 90 * DAY_S).sum()), int((free < 90 * DAY_S).sum())
    assert at_day_90[0] < 0.9 * at_day_90[1], at_day_90  # the ramp is behind in its third month


def test_receipts_come_before_the_pieces_they_bring_are_installed(
    early_months: list[dict[str, Any]],
) -> None:
    on_hand: Counter[str] = Counter()
    received_serials: set[str] = set()
    received_lots: set[str] = set()
    installed_serials: Counter[str] = Counter()
    lowest: dict[str, int] = {}
    for event in early_months:
        if event["kind"] == "part.received":
            assert event["quantity"] > 0 and event["simulated"] is True
            serials = event.get("serials")
            if serials is not None:
                assert len(serials) == event["quantity"] and "lot" not in event
                received_serials.update(serials)
            else:
                received_lots.add(event["lot"])
            on_hand[event["part"]] += event["quantity"]
        elif event["kind"] == "part.installed":
            on_hand[event["part"]] -= 1
            lowest[event["part"]] = min(lowest.get(event["part"], 0), on_hand[event["part"]])
            if "serial" in event:
                assert event["serial"] in received_serials, event
                installed_serials[event["serial"]] += 1
            else:
                assert event["lot"] in received_lots, event
    assert lowest and min(lowest.values()) >= 0  # stock never negative
    assert max(installed_serials.values()) == 1  # each received serial goes into one car
    assert on_hand["BAT-1001"] >= 0


def test_receipts_are_part_received_events_of_contract_2(
    early_months: list[dict[str, Any]],
) -> None:
    receipts = [e for e in early_months if e["kind"] == "part.received"]
    for event in receipts:
        decoded = msgspec.json.decode(json.dumps(event).encode(), type=PartReceived)
        assert decoded.part == event["part"] and decoded.supplier == event["supplier"]
    by_part = {e["part"]: e for e in receipts}
    assert by_part["BAT-1001"]["supplier"] == "sup-bat" and by_part["BAT-1001"]["quantity"] == 12
    assert by_part["BRK-2201"]["lot"] == "BRK-2201-L00001"
    assert by_part["BRK-2201"]["quantity"] == 2400
    opening = [e for e in receipts if e["part"] == "BAT-1001" and e["ts"] == receipts[0]["ts"]]
    assert sum(e["quantity"] for e in opening) == 120  # opening stock, at start of production


def test_a_station_waiting_for_parts_installs_nothing_until_it_runs(
    early_months: list[dict[str, Any]],
) -> None:
    state: dict[str, dict[str, Any]] = {}
    timeline: list[tuple[str, str | None]] = []
    for event in early_months:
        if event["kind"] == "station.state":
            state[event["station"]] = event
            if event["station"] == "ga-140":
                timeline.append((event["state"], event.get("reason")))
        elif event["kind"] == "part.installed":
            current = state.get(event["station"], {})
            assert not current.get("reason", "").startswith("shortage:"), event
    # a wait for parts ends in running, or is interrupted by a stop; never two waits in a row
    for (_, reason), following in itertools.pairwise(timeline):
        if reason == "shortage:BAT-1001":
            assert following[0] in {"running", "planned-stop", "down"}, following
    assert ("starved", "shortage:BAT-1001") in timeline


@pytest.mark.slow
def test_a_longer_run_repeats_a_shorter_ones_receipts_and_stops(loaded: LoadedScenario) -> None:
    from linespeed.sim.run import completion_time

    # cars 2,000 to 3,000 wait for packs in April
    short, long = simulate(loaded, until_units=2_500), simulate(loaded, until_units=3_000)
    head = list(event_lines(short, receipts=True))
    tail = list(event_lines(long, receipts=True, after_s=completion_time(long, 2_500)))
    assert head + tail == list(event_lines(long, receipts=True))
    assert any(b"shortage:BAT-1001" in line for line in tail)


@pytest.mark.slow
def test_shortage_stops_are_accepted_by_the_ingest(
    loaded: LoadedScenario, simulation_engine: Engine
) -> None:
    run = simulate(loaded, days=45)
    states = [line for line in event_lines(run) if line.startswith(b'{"kind":"station.state"')]
    assert any(b'"reason":"shortage:BAT-1001"' in line for line in states)

    report = ingest_lines(Ingestor(simulation_engine), states, "sim")

    assert report.as_dict() == {
        "accepted": len(states),
        "duplicates": 0,
        "rejected": 0,
        "reasons": {},
    }


@pytest.mark.slow
def test_a_supplier_far_below_the_plan_sets_the_pace(tmp_path: Path) -> None:
    capped = BASE.replace(
        "        - {from: 2024-05-06, per_week: 1200}\n"
        "        - {from: 2024-06-03, per_week: 2400}\n"
        "        - {from: 2024-07-01, per_week: unlimited}\n",
        "",
    )
    assert "per_week: 1200" not in capped
    run = simulate(_scenario(tmp_path, capped), until_units=20_000)
    packs = int((run.plan.model[: run.cars] == 0).sum() * 20_000 / run.cars)  # s7 cars
    weeks = (packs - 120) / 300
    day = run.until_s / DAY_S
    assert run.until_s <= run.calendar.horizon_s  # inside the calendar: shifts, not a void
    assert 7 * weeks * 0.9 <= day <= 7 * weeks * 1.15, (day, weeks)


def _with_supply(text: str, supply: str) -> str:
    start = text.index("supply:")
    end = text.index("\nmix:")
    return text[:start] + supply + text[end:]


def test_a_supplier_ships_no_more_than_its_capacity(tmp_path: Path) -> None:
    supply = """supply:
  parts:
    BRK-2201:
      lot_size: 100
      capacity:
        - {from: 2024-03-01, per_week: 150}
        - {from: 2024-03-25, per_week: unlimited}
"""
    run = simulate(_scenario(tmp_path, _with_supply(BASE, supply)), days=40)
    receipts = [
        json.loads(line)
        for line in event_lines(run, receipts=True)
        if line.startswith(b'{"kind":"part.received"') and b'"BRK-2201"' in line
    ]
    assert {e["quantity"] for e in receipts} == {100}
    weeks = Counter(
        int(
            (np.datetime64(e["ts"][:-1]) - np.datetime64("2024-02-29T16:00"))
            // np.timedelta64(7, "D")
        )
        for e in receipts
    )
    limited = [weeks[w] * 100 for w in range(1, 3)]
    assert limited and max(limited) <= 150 + 100, weeks  # whole lots, at most 150 a week
    held = run.shortages[[s.id for s in run.line.stations].index("ga-090")]
    assert len(held.begin_s) and held.begin_s.min() < 24 * DAY_S  # the brake line starved


def test_supply_changes_no_other_random_draw(loaded: LoadedScenario) -> None:
    without = LoadedScenario(
        scenario=loaded.scenario.model_copy(update={"supply": Supply()}),
        plant=loaded.plant,
        source=loaded.source,
    )
    base, other = simulate(loaded, days=20), simulate(without, days=20)
    for name in ("model", "color", "release_s", "process_s", "failed", "scrap_at", "ship_delay_s"):
        assert np.array_equal(getattr(base.plan, name), getattr(other.plan, name)), name
    for mine, theirs in zip(base.downtime.failures, other.downtime.failures, strict=True):
        assert np.array_equal(mine, theirs)
    # before the packs run short, the line runs exactly as without supply limits
    same = [
        line
        for line in event_lines(base, receipts=True)
        if not line.startswith(b'{"kind":"part.received"')
    ]
    assert same == [
        line
        for line in event_lines(other, receipts=True)
        if not line.startswith(b'{"kind":"part.received"')
    ]


def test_shortages_still_load_translated_to_a_supplier_that_ships_nothing(
    tmp_path: Path,
) -> None:
    text = BASE[: BASE.index("supply:")] + BASE[BASE.index("\nmix:") + 1 :]
    text += "\nshortages:\n  - {part: BRK-2201, from: 2024-03-11, hours: 48}\n"
    loaded = _scenario(tmp_path, text)
    assert loaded.scenario.shortages[0].part == "BRK-2201"
    run = simulate(loaded, days=16)
    begin = np.datetime64("2024-03-10T16:00")  # 2024-03-11 00:00 in Asia/Shanghai
    end = begin + np.timedelta64(48, "h")
    receipts: list[np.datetime64] = []
    states: dict[str, list[tuple[np.datetime64, str]]] = defaultdict(list)
    for line in event_lines(run, receipts=True):
        if line.startswith((b'{"kind":"part.received"', b'{"kind":"station.state"')):
            event = json.loads(line)
            moment = np.datetime64(event["ts"][:-1])
            if event["kind"] == "part.received" and event["part"] == "BRK-2201":
                assert event["quantity"] == 1  # just in time, piece by piece
                receipts.append(moment)
            elif event.get("reason") == "shortage:BRK-2201":
                states[event["station"]].append((moment, event["state"]))
    assert receipts and not any(begin <= moment < end for moment in receipts)
    assert set(states) == {"ga-090"}
    assert all(begin <= moment <= end for moment, _ in states["ga-090"])


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("    BAT-1001:", "    BAT-9999:", "supply.parts.BAT-9999", "in no BOM"),
        (
            "{from: 2024-05-06, per_week: 1200}",
            "{from: 2024-03-01, per_week: 1200}",
            "supply.parts.BAT-1001.capacity[1].from",
            "dates must increase",
        ),
        (
            "{from: 2024-07-01, per_week: unlimited}",
            "{from: 2024-07-01, per_week: 0}",
            "supply.parts.BAT-1001.capacity[3].per_week",
            "never come again",
        ),
        (
            "per_week: 300}",
            "per_week: -300}",
            "supply.parts.BAT-1001.capacity[0].per_week",
            "0",
        ),
        ("lead_time_days: 2", "lead_time: 2", "supply.parts.BAT-1001.lead_time", "unknown"),
        ("lot_size: 12", "lot_size: 0", "supply.parts.BAT-1001.lot_size", "must be > 0"),
    ],
)
def test_a_bad_supply_section_names_line_and_field(
    tmp_path: Path, old: str, new: str, field: str, message: str
) -> None:
    from linespeed.errors import ScenarioFileError

    assert BASE.count(old) == 1
    text = BASE.replace(old, new)
    with pytest.raises(ScenarioFileError) as raised:
        _scenario(tmp_path, text)
    found = [p for p in raised.value.problems if p.field == field]
    assert found, [str(p) for p in raised.value.problems]
    assert message in found[0].message
    row = next(n for n, line in enumerate(text.splitlines(), 1) if new in line)
    assert found[0].line == row, str(found[0])
    assert found[0].file.endswith("scenario.yaml")
