"""What-if: reproducible, ordered percentiles, common random numbers, --set as an edited file."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from linespeed.sim import whatif as whatif_module
from linespeed.sim.errors import SimInputError
from linespeed.sim.overrides import parse_override
from linespeed.sim.run import simulate
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, LoadedScenario, load_scenario
from linespeed.sim.whatif import compare, run_seeds, whatif

UNITS = 1500


@pytest.fixture(scope="module")
def loaded() -> LoadedScenario:
    return load_scenario(DEFAULT_SCENARIO_PATH)


def test_same_seed_same_answer_and_ordered(loaded: LoadedScenario) -> None:
    first = whatif(loaded, until_units=UNITS, runs=5, seed=7, workers=1)
    again = whatif(loaded, until_units=UNITS, runs=5, seed=7, workers=1)
    assert first.as_dict() == again.as_dict()
    assert first.p10 <= first.p50 <= first.p90  # type: ignore[operator]
    assert first.as_dict()["runs"] == 5
    assert first.cars_per_week > 0
    assert sum(first.bottleneck_share.values()) == pytest.approx(1.0)
    assert "BAT-1001" in first.shortage_hours
    assert len(set(run_seeds(7, 5))) == 5


def test_cars_by_date(loaded: LoadedScenario) -> None:
    answer = whatif(loaded, until=date(2024, 5, 1), runs=4, workers=1)
    assert isinstance(answer.p50, int)
    assert 0 < answer.p10 <= answer.p50 <= answer.p90  # type: ignore[operator]


def test_worker_processes_give_the_in_process_answer(
    loaded: LoadedScenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(whatif_module, "_IN_PROCESS_CARS", 0)  # small runs go to workers too
    alone = whatif(loaded, until_units=UNITS, runs=3, workers=1)
    pooled = whatif(loaded, until_units=UNITS, runs=3, workers=2)
    assert alone.as_dict() == pooled.as_dict()


def test_identical_scenarios_differ_by_zero(loaded: LoadedScenario) -> None:
    both = compare(loaded, loaded, until_units=UNITS, runs=4, workers=1)
    assert both.difference_days == {"p10": 0.0, "p50": 0.0, "p90": 0.0}


def test_a_faster_bottleneck_finishes_earlier_in_every_run(loaded: LoadedScenario) -> None:
    better = load_scenario(
        DEFAULT_SCENARIO_PATH,
        [parse_override("cycle_time.stations.ga-140.start_factor=1.0")],
    )
    both = compare(loaded, better, until_units=UNITS, runs=5, workers=1)
    for base, other in zip(both.base.runs, both.other.runs, strict=True):
        assert other.target < base.target
    assert both.difference_days["p90"] < 0


def test_an_obvious_bottleneck_has_most_of_the_time() -> None:
    slow = load_scenario(
        DEFAULT_SCENARIO_PATH, [parse_override("cycle_time.stations.ga-140.start_factor=3")]
    )
    answer = whatif(slow, until_units=UNITS, runs=3, workers=1)
    assert next(iter(answer.bottleneck_share)) == "ga-140"
    assert answer.bottleneck_share["ga-140"] > 0.9


def test_set_equals_an_edited_copy(loaded: LoadedScenario, tmp_path: Path) -> None:
    text = DEFAULT_SCENARIO_PATH.read_text(encoding="utf-8")
    edited = text.replace(
        "ga-140: {mtbf_h: 12, mttr_min: 20}", "ga-140: {mtbf_h: 50, mttr_min: 20}"
    )
    assert edited != text
    copy = tmp_path / "edited.yaml"
    copy.write_text(edited, encoding="utf-8")
    by_set = load_scenario(
        DEFAULT_SCENARIO_PATH, [parse_override("failures.stations.ga-140.mtbf_h=50")]
    )
    by_copy = load_scenario(copy)
    assert by_set.scenario == by_copy.scenario
    assert (
        whatif(by_set, until_units=UNITS, runs=3, workers=1).as_dict()
        == whatif(by_copy, until_units=UNITS, runs=3, workers=1).as_dict()
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"until_units": UNITS, "runs": 0}, "runs must be from 1 to 10,000"),
        ({"until_units": UNITS, "runs": 10_001}, "runs must be from 1 to 10,000"),
        ({"runs": 3}, "give exactly one of"),
        ({"until_units": UNITS, "until": date(2024, 5, 1)}, "give exactly one of"),
        ({"until": date(2024, 3, 1)}, "not after the start of production"),
        ({"until_units": 100_000_000, "runs": 1}, "is never completed"),
    ],
)
def test_bad_input(loaded: LoadedScenario, arguments: dict[str, object], message: str) -> None:
    with pytest.raises(SimInputError, match=message):
        whatif(loaded, workers=1, **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("failures.stations.ga-14.mtbf_h=50", "no key 'ga-14' \\(did you mean 'ga-140'\\?\\)"),
        ("shift_pattern[9].from=2024-04-01", "shift_pattern has 4 items"),
        ("seed.x=1", "seed is not a mapping"),
        ("no-equals", "is not PATH=VALUE"),
    ],
)
def test_unknown_set_path(text: str, message: str) -> None:
    with pytest.raises(SimInputError, match=message):
        load_scenario(DEFAULT_SCENARIO_PATH, [parse_override(text)])


def test_set_paths_as_the_file_spells_them() -> None:
    loaded = load_scenario(
        DEFAULT_SCENARIO_PATH,
        [
            parse_override("shift_pattern[1].from=2024-04-01"),
            parse_override("supply.parts.BAT-1001.capacity[0].per_week=360"),
        ],
    )
    assert loaded.scenario.shift_pattern[1].start == date(2024, 4, 1)
    capacity = loaded.scenario.supply.parts["BAT-1001"].capacity
    assert capacity is not None and capacity[0].per_week == 360


@pytest.mark.parametrize(("units", "seed"), [(150, 1), (UNITS, 2)])
def test_working_time_by_block_is_the_sum_of_each_cars(
    loaded: LoadedScenario, units: int, seed: int
) -> None:
    run = simulate(loaded, until_units=units, seed=seed)
    calendar = run.calendar
    active = calendar.to_work(run.complete_s[:units]) - calendar.to_work(run.start_s[:units])
    blocks = max(1, units // whatif_module.BLOCK_CARS)
    usable = blocks * whatif_module.BLOCK_CARS if units >= whatif_module.BLOCK_CARS else units
    expected = active[:usable].reshape(blocks, -1, active.shape[1]).sum(axis=1)
    found = whatif_module._working_by_block(
        calendar.work, calendar.work_before, run.start_s, run.complete_s, blocks, usable
    )
    assert np.array_equal(found, expected)


def test_worker_processes_keep_freed_memory() -> None:
    code = (
        "from linespeed.sim.whatif import _keep_freed_memory\n"
        "import numpy as np\n"
        "_keep_freed_memory()\n"
        "for _ in range(3):\n"
        "    np.ones((2000, 5000)).sum()\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "ok"
