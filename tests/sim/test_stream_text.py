"""The event stream's text, made for many events at once: timestamps, numbers, VINs, blocks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from linespeed.plant.vin import nth_vin
from linespeed.sim.car_events import RunTexts, car_lines
from linespeed.sim.emit import StreamCounts, counted, event_lines, write_lines
from linespeed.sim.run import SimRun, simulate
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, load_scenario
from linespeed.sim.stamps import Stamps
from linespeed.sim.templates import Digits, Template, Text


@pytest.fixture(scope="module")
def run() -> SimRun:
    return simulate(load_scenario(DEFAULT_SCENARIO_PATH), days=2)


def test_stamps_are_numpys_iso_text_to_the_millisecond() -> None:
    origin = np.datetime64("2024-02-29T16:00:00.000", "ms")
    seconds = np.array([0.0, 0.0004, 0.0005, 0.0015, 59.9995, 86_399.9996, 3.2e7, 1.25e9])
    moments = origin + np.round(seconds * 1000.0).astype("timedelta64[ms]")
    expected = [f"{text}Z".encode() for text in np.datetime_as_string(moments, unit="ms")]
    stamps = Stamps(origin)
    assert stamps.of(seconds) == expected
    assert stamps.of(seconds[::-1]) == expected[::-1]  # the table of dates grows both ways
    assert stamps.of(np.zeros(0)) == []


def test_a_template_writes_what_percent_formatting_writes() -> None:
    template = Template([b'{"n":"%', Digits(3), b'","at":"', Text(2), b'","big":', Digits(8), b"}"])
    numbers = np.array([0, 7, 42, 999])
    texts = np.frombuffer(b"aabbccdd", dtype=np.uint8).reshape(4, 2)
    big = np.array([0, 1, 12_345_678, 99_999_999])
    assert template.fill([numbers, texts, big]) == [
        b'{"n":"%%%03d","at":"%s","big":%08d}' % (n, t, b)
        for n, t, b in zip(
            numbers.tolist(), [b"aa", b"bb", b"cc", b"dd"], big.tolist(), strict=True
        )
    ]


def test_a_number_wider_than_its_field_widens_it_as_percent_formatting_does() -> None:
    template = Template([b"car ", Digits(3), b"!"])
    assert template.fill([np.array([5, 1234, 99])]) == [b"car 005!", b"car 1234!", b"car 099!"]
    with pytest.raises(ValueError, match="2 columns for 1 fields"):
        template.fill([np.array([1]), np.array([2])])


def test_each_car_carries_its_models_vin(run: SimRun) -> None:
    texts = RunTexts(run)
    cars = np.arange(min(run.cars, 300))
    lines = car_lines(texts, cars, "units", "t").lines
    vins = {line.split(b'"vin":"')[1][:17].decode() for line in lines}
    plant = run.loaded.plant
    expected = {
        nth_vin(plant, plant.models[int(run.plan.model[car])].id, int(car) + 1) for car in cars
    }
    assert vins == expected


def test_lines_one_by_one_and_in_blocks_are_the_same_stream(run: SimRun, tmp_path: Path) -> None:
    by_line = list(event_lines(run))
    stream = event_lines(run)
    first = next(stream)  # some taken one by one, the rest written in blocks
    by_count, by_block = StreamCounts(), StreamCounts()
    write_lines(counted(stream, by_block), tmp_path / "rest.jsonl")
    assert [first, *(tmp_path / "rest.jsonl").read_bytes().splitlines()] == by_line
    assert list(counted(iter(by_line[1:]), by_count)) == by_line[1:]
    assert by_block == by_count
    assert by_count.started > 0
