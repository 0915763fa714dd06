"""Tests of plant file loading: the default plant, the contract example and bad files."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml

from linespeed.errors import FileProblem, LinespeedError, PlantFileError
from linespeed.plant.load import DEFAULT_PLANT_PATH, load_plant, parse_plant, plant_to_yaml_dict
from linespeed.plant.model import Plant

# The example of contract 1 in DESIGN.md; line numbers below refer to it (line 1 is `plant:`).
CONTRACT = """\
plant: yz1                     # id: [a-z0-9-]+
name: Yizhuang phase 1
timezone: Asia/Shanghai
vin: {wmi: LSP, plant_code: B} # VIN positions 1-3 and 11
models:
  - id: s7                     # model id
    vds: A1S7E                 # VIN positions 4-8
    colors: [pearl-white, olive-green, lava-orange, milestone-gold]
    parts:                     # bill of materials: what is installed where
      - {part: BAT-1001, station: ga-120, serialized: true,  supplier: sup-bat}
      - {part: BRK-2201, station: ga-090, serialized: false, supplier: sup-brk}
lines:
  - id: l1
    takt_s: 76                 # planned seconds per car at full rate
    stations:                  # in flow order
      - {id: body-010, area: body,  cycle_s: 70, buffer: 2}
      - {id: ga-090,   area: ga,    cycle_s: 68, buffer: 1, checks: [brake-torque]}
      - {id: ga-120,   area: ga,    cycle_s: 72, buffer: 1}
      - {id: eol-010,  area: eol,   cycle_s: 60, buffer: 0, checks: [wheel-align, rain-test], gate: true}
shifts:
  - {name: A, start: "07:00", end: "15:30", breaks: [{start: "11:00", end: "11:30"}]}
milestones: {every: 100000, also: [10000, 50000], color: milestone-gold}
"""  # noqa: E501

SECOND_MODEL = "  - {id: x9, vds: A1X9E, colors: [milestone-gold]}\n"


def edit(old: str, new: str, text: str = CONTRACT) -> str:
    """The contract example with `old` (which must occur once) replaced by `new`."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def insert_after(line: int, extra: str, text: str = CONTRACT) -> str:
    """The contract example with `extra` lines inserted after line `line`."""
    lines = text.splitlines(keepends=True)
    return "".join([*lines[:line], extra, *lines[line:]])


def problems_of(text: str) -> list[FileProblem]:
    """The problems parse_plant reports for `text` (it must report some)."""
    with pytest.raises(PlantFileError) as caught:
        parse_plant(text, "plant.yaml")
    assert caught.value.problems
    assert all(problem.file == "plant.yaml" for problem in caught.value.problems)
    return caught.value.problems


def only_problem(text: str) -> FileProblem:
    """The one problem parse_plant reports for `text`."""
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


# The default plant


@pytest.fixture(scope="module")
def default_plant() -> Plant:
    return load_plant(DEFAULT_PLANT_PATH)


def test_default_plant_is_the_beijing_plant(default_plant: Plant) -> None:
    assert default_plant.plant == "yz1"
    assert default_plant.timezone == "Asia/Shanghai"
    assert (default_plant.vin.wmi, default_plant.vin.plant_code) == ("LSP", "B")
    assert default_plant.vin.model_year == 2025
    assert [shift.name for shift in default_plant.shifts] == ["A", "B", "C"]
    assert default_plant.milestones.every == 100_000
    assert default_plant.milestones.color == "milestone-gold"


def test_default_plant_has_one_line_of_all_four_areas(default_plant: Plant) -> None:
    assert [line.id for line in default_plant.lines] == ["l1"]
    line = default_plant.lines[0]
    assert line.takt_s == 76
    assert 40 <= len(line.stations) <= 48
    areas = [station.area for station in line.stations]
    assert list(dict.fromkeys(areas)) == ["body", "paint", "ga", "eol"]  # in flow order
    assert all(station.cycle_s < line.takt_s for station in line.stations)
    area_end = {
        station.id
        for station, after in itertools.pairwise(line.stations)
        if station.area != after.area
    }
    assert all(0 <= station.buffer <= 3 for station in line.stations if station.id not in area_end)
    # banks between the body shop, the paint shop and assembly decouple the shops
    assert [
        line.stations[i].buffer >= 20
        for i in range(len(line.stations))
        if line.stations[i].id in area_end
    ][:2] == [True, True]
    slowest = max(line.stations, key=lambda station: station.cycle_s)
    assert slowest.id == "ga-140"
    assert [s for s in line.stations if s.cycle_s == slowest.cycle_s] == [slowest]
    assert line.stations[-1].gate
    assert any(station.gate and station.area == "paint" for station in line.stations)


def test_default_plant_models_and_bom(default_plant: Plant) -> None:
    assert [model.id for model in default_plant.models] == ["s7", "x9"]
    for model in default_plant.models:
        assert 4 <= len(model.colors) <= 6
        assert "milestone-gold" in model.colors
        assert len(model.parts) >= 20
        assert any(part.serialized for part in model.parts)
        assert any(not part.serialized for part in model.parts)
        assert all(part.supplier for part in model.parts)
        assert {default_plant.stations_by_id[p.station].area for p in model.parts} <= {"body", "ga"}
        assert model.bom_at("ga-140")  # the battery pack and drive units are married there


def test_default_plant_round_trips_through_yaml(default_plant: Plant) -> None:
    text = yaml.safe_dump(plant_to_yaml_dict(default_plant), sort_keys=False)
    assert parse_plant(text, "dumped.yaml") == default_plant


def test_contract_example_loads() -> None:
    plant = parse_plant(CONTRACT, "contract.yaml")
    assert plant.stations_by_id["eol-010"].checks == ("wheel-align", "rain-test")
    assert plant.models_by_id["s7"].bom_at("ga-120")["BAT-1001"].serialized
    assert plant.shifts[0].breaks[0].start == "11:00"
    assert plant.milestones.also == (10000, 50000)


# Bad files: one problem each, with its line, field and the bad value

BAD_FILES = [
    pytest.param(
        edit("station: ga-090, serialized: false", "station: ga-099, serialized: false"),
        11,
        "models[0].parts[1].station",
        "'ga-099' is not a station of any line",
        id="bom-station-unknown",
    ),
    pytest.param(
        edit("{id: eol-010,", "{id: body-010,"),
        19,
        "lines[0].stations[3].id",
        "duplicate station id 'body-010' in the plant (first at line 16)",
        id="station-id-duplicate",
    ),
    pytest.param(
        insert_after(11, "  - {id: s7, vds: A1X9E, colors: [milestone-gold]}\n"),
        12,
        "models[1].id",
        "duplicate model id 's7' (first at line 6)",
        id="model-id-duplicate",
    ),
    pytest.param(
        edit(", milestone-gold]", "]"),
        8,
        "models[0].colors",
        "model 's7' has no colour 'milestone-gold'",
        id="milestone-colour-missing",
    ),
    pytest.param(
        edit("cycle_s: 70", "cycle_s: -5"),
        16,
        "lines[0].stations[0].cycle_s",
        "must be > 0, got -5",
        id="cycle-negative",
    ),
    pytest.param(edit("takt_s: 76", "takt_s: 0"), 14, "lines[0].takt_s", "got 0", id="takt-zero"),
    pytest.param(
        edit("vds: A1S7E", "vds: A1S7"),
        7,
        "models[0].vds",
        "vds 'A1S7' must be exactly 5 characters, got 4",
        id="vds-length",
    ),
    pytest.param(
        edit("vds: A1S7E", "vds: A1SOE"),
        7,
        "models[0].vds",
        "has 'O' at position 4",
        id="vds-letter-o",
    ),
    pytest.param(
        edit("wmi: LSP", "wmi: lsp"),
        4,
        "vin.wmi",
        "wmi 'lsp' has lower-case 'l' at position 1",
        id="wmi-lower-case",
    ),
    pytest.param(
        edit("wmi: LSP", "wmi: LIP"), 4, "vin.wmi", "has 'I' at position 2", id="wmi-letter-i"
    ),
    pytest.param(
        edit("plant_code: B", "plant_code: BB"),
        4,
        "vin.plant_code",
        "got 'BB'",
        id="plant-code-length",
    ),
    pytest.param(
        edit("timezone: Asia/Shanghai", "timezone: Asia/Shangai"),
        3,
        "timezone",
        "'Asia/Shangai' is not an IANA time zone",
        id="timezone-unknown",
    ),
    pytest.param(
        CONTRACT + "owner: plant engineering\n",
        23,
        "owner",
        "unknown field 'owner'",
        id="top-level-field-unknown",
    ),
    pytest.param(
        edit("cycle_s: 72", 'cycle_s: "fast"'),
        18,
        "lines[0].stations[2].cycle_s",
        "must be a number, got 'fast'",
        id="cycle-not-a-number",
    ),
    pytest.param(
        edit("cycle_s: 72", "cycle_s: .inf"),
        18,
        "lines[0].stations[2].cycle_s",
        "must be a finite number of seconds, got inf",
        id="cycle-infinite",
    ),
    pytest.param(
        edit("{id: body-010,", "{id: Body-010,"),
        16,
        "lines[0].stations[0].id",
        "got 'Body-010'",
        id="id-pattern",
    ),
    pytest.param(
        edit('breaks: [{start: "11:00"', 'breaks: [{start: "16:00"').replace(
            'end: "11:30"', 'end: "16:30"'
        ),
        21,
        "shifts[0].breaks[0]",
        "break 16:00-16:30 is not within shift 'A' (07:00-15:30)",
        id="break-outside-shift",
    ),
    pytest.param(
        edit('end: "15:30"', 'end: "25:00"'),
        21,
        "shifts[0].end",
        "got '25:00'",
        id="clock-time-25",
    ),
    pytest.param(
        edit('end: "15:30"', 'end: "07:00"'),
        21,
        "shifts[0].end",
        "shift 'A' (07:00-07:00) has zero length",
        id="shift-zero-length",
    ),
    pytest.param(
        edit('"11:30"}]', '"11:30"}, {start: "11:15", end: "11:45"}]'),
        21,
        "shifts[0].breaks[1]",
        "break 11:15-11:45 overlaps break 11:00-11:30",
        id="breaks-overlap",
    ),
    pytest.param(
        insert_after(21, '  - {name: A, start: "15:30", end: "00:00"}\n'),
        22,
        "shifts[1].name",
        "duplicate shift name 'A' (first at line 21)",
        id="shift-name-duplicate",
    ),
    pytest.param(
        insert_after(14, "    takt_s: 80\n"),
        15,
        "lines[0].takt_s",
        "duplicate key 'takt_s' (first at line 14)",
        id="yaml-key-duplicate",
    ),
    pytest.param(
        edit("name: Yizhuang phase 1", "name: Yizhuang: phase 1"),
        2,
        "",
        "YAML syntax error: mapping values are not allowed here",
        id="yaml-syntax",
    ),
    pytest.param(
        edit("name: Yizhuang phase 1", "name: !!python/name:os.system ''"),
        2,
        "name",
        "cannot read ''",
        id="python-tag-scalar",
    ),
    pytest.param(
        edit("colors: [", "colors: !set ["),
        8,
        "models[0].colors",
        "tag '!set' is not allowed here",
        id="custom-tag-list",
    ),
    pytest.param("", 1, "", "the file is empty", id="empty-file"),
    pytest.param("# nothing yet\n", 1, "", "the file is empty", id="comments-only"),
    pytest.param("- plant: yz1\n", 1, "", "must be a mapping", id="list-not-mapping"),
    pytest.param(
        edit("part: BRK-2201", "part: BAT-1001"),
        11,
        "models[0].parts[1].part",
        "duplicate part 'BAT-1001' in the BOM of model 's7' (first at line 10)",
        id="bom-part-duplicate",
    ),
    pytest.param(
        insert_after(11, "  - {id: x9, vds: A1S7E, colors: [milestone-gold]}\n"),
        12,
        "models[1].vds",
        "duplicate vds 'A1S7E'",
        id="vds-duplicate-across-models",
    ),
    pytest.param(
        edit("olive-green, lava-orange", "olive-green, olive-green"),
        8,
        "models[0].colors[2]",
        "duplicate colour 'olive-green' in model 's7'",
        id="colour-duplicate",
    ),
    pytest.param(
        edit("checks: [wheel-align, rain-test]", "checks: [rain-test, rain-test]"),
        19,
        "lines[0].stations[3].checks[1]",
        "duplicate check 'rain-test' at station 'eol-010'",
        id="check-duplicate",
    ),
    pytest.param(
        edit("also: [10000, 50000]", "also: [10000, 10000]"),
        22,
        "milestones.also[1]",
        "duplicate milestone 10000",
        id="milestone-duplicate",
    ),
    pytest.param(
        CONTRACT.split("lines:\n")[0] + CONTRACT.split("      - {id: eol-010")[1].split("\n", 1)[1],
        1,
        "lines",
        "is required but missing",
        id="lines-missing",
    ),
    pytest.param(
        edit("vds: A1S7E", "vds: 12345"),
        7,
        "models[0].vds",
        "must be text, got 12345 (put it in quotes)",
        id="vds-number",
    ),
    pytest.param(
        edit("buffer: 2}", "buffer: -1}"),
        16,
        "lines[0].stations[0].buffer",
        "must be >= 0, got -1",
        id="buffer-negative",
    ),
    pytest.param(
        edit("buffer: 2}", "buffer: yes}"),
        16,
        "lines[0].stations[0].buffer",
        "must be a whole number, got true",
        id="bool-for-number",
    ),
    pytest.param(
        edit("takt_s: 76", 'takt_s: "76"'),
        14,
        "lines[0].takt_s",
        "must be a number, got '76'",
        id="quoted-number",
    ),
    pytest.param(
        edit("gate: true}", "gate: 1}"),
        19,
        "lines[0].stations[3].gate",
        "must be true or false, got 1",
        id="number-for-bool",
    ),
    pytest.param(
        edit("name: Yizhuang phase 1", "name: Yizhuang \x07"),
        2,
        "",
        "character U+0007 is not allowed",
        id="control-character",
    ),
    pytest.param(
        edit("serialized: true,", "serialized: maybe,"),
        10,
        "models[0].parts[0].serialized",
        "must be true or false, got 'maybe'",
        id="bool-wrong",
    ),
    pytest.param(
        edit(
            "serialized: true,  supplier: sup-bat}", "serialized: true, supplier: sup-bat, qty: 2}"
        ),
        10,
        "models[0].parts[0].qty",
        "part 'BAT-1001' is serialized: qty must be 1 (one serial per piece), got 2",
        id="qty-serialized",
    ),
    pytest.param(
        edit("serialized: true,  supplier: sup-bat}", "serialized: true, backflush: true}"),
        10,
        "models[0].parts[0].backflush",
        "part 'BAT-1001' is serialized: it is installed with its serial",
        id="backflush-serialized",
    ),
    pytest.param(
        edit("supplier: sup-brk}", "supplier: sup-brk, qty: 0}"),
        11,
        "models[0].parts[1].qty",
        "got 0",
        id="qty-zero",
    ),
    pytest.param(
        edit("supplier: sup-brk}", "supplier: sup-brk, qty: 2.5}"),
        11,
        "models[0].parts[1].qty",
        "2.5",
        id="qty-not-whole",
    ),
    pytest.param(
        CONTRACT + "supply: {strict: maybe}\n",
        23,
        "supply.strict",
        "must be true or false, got 'maybe'",
        id="supply-strict-wrong",
    ),
]


def test_qty_backflush_and_a_strict_supply_load() -> None:
    text = edit("supplier: sup-brk}", "supplier: sup-brk, qty: 4, backflush: true}")
    plant = parse_plant(text + "supply: {strict: true}\n", "plant.yaml")
    brakes = plant.models_by_id["s7"].bom_at("ga-090")["BRK-2201"]
    assert (brakes.qty, brakes.backflush, plant.supply.strict) == (4, True, True)
    battery = plant.models_by_id["s7"].bom_at("ga-120")["BAT-1001"]
    assert (battery.qty, battery.backflush) == (1, False)
    assert parse_plant(CONTRACT, "plant.yaml").supply.strict is False


@pytest.mark.parametrize(("text", "line", "field", "message"), BAD_FILES)
def test_bad_file_reports_line_field_and_value(
    text: str, line: int, field: str, message: str
) -> None:
    problem = only_problem(text)
    assert (problem.line, problem.field) == (line, field)
    assert message in problem.message


def test_break_inside_a_long_break_overlaps_it() -> None:
    breaks = (
        '[{start: "11:00", end: "12:00"}, {start: "11:10", end: "11:20"}, '
        '{start: "11:30", end: "11:40"}]'
    )
    problems = problems_of(edit('[{start: "11:00", end: "11:30"}]', breaks))
    assert [(p.line, p.field, p.message) for p in problems] == [
        (21, "shifts[0].breaks[1]", "break 11:10-11:20 overlaps break 11:00-12:00"),
        (21, "shifts[0].breaks[2]", "break 11:30-11:40 overlaps break 11:00-12:00"),
    ]


def test_misspelt_field_is_unknown_and_the_right_one_missing() -> None:
    problems = problems_of(edit("cycle_s: 70,", "cylce_s: 70,"))
    assert [(p.line, p.field, p.message) for p in problems] == [
        (16, "lines[0].stations[0].cycle_s", "is required but missing"),
        (16, "lines[0].stations[0].cylce_s", "unknown field 'cylce_s' (did you mean 'cycle_s'?)"),
    ]


def test_every_station_optional_is_an_error() -> None:
    text = CONTRACT
    for station in ("body-010, area: body,  cycle_s: 70", "ga-090,   area: ga,    cycle_s: 68"):
        text = edit(station, station + ", optional: true", text)
    for station in ("ga-120,   area: ga,    cycle_s: 72", "eol-010,  area: eol,   cycle_s: 60"):
        text = edit(station, station + ", optional: true", text)
    problem = only_problem(text)
    assert (problem.line, problem.field) == (15, "lines[0].stations")
    assert "every station of line 'l1' is optional" in problem.message


def test_duplicate_line_id_across_lines() -> None:
    second_line = "  - {id: l1, takt_s: 60, stations: [{id: x-1, area: x, cycle_s: 5}]}\n"
    text = insert_after(19, second_line)
    problem = only_problem(text)
    assert (problem.line, problem.field) == (20, "lines[1].id")
    assert "duplicate line id 'l1' (first at line 13)" in problem.message


def test_several_problems_are_all_reported_in_line_order() -> None:
    text = edit("timezone: Asia/Shanghai", "timezone: Mars/Olympus")
    text = edit("station: ga-090, serialized: false", "station: ga-999, serialized: false", text)
    text = edit("cycle_s: 70", "cycle_s: -5", text)
    text = edit("takt_s: 76", "takt_s: 76\n    takt: 76", text)
    text = edit('end: "11:30"', 'end: "11:99"', text)
    problems = problems_of(text)
    assert [(p.line, p.field) for p in problems] == [
        (3, "timezone"),
        (11, "models[0].parts[1].station"),
        (15, "lines[0].takt"),
        (17, "lines[0].stations[0].cycle_s"),
        (22, "shifts[0].breaks[0].end"),
    ]
    assert "'Mars/Olympus'" in problems[0].message
    assert "'ga-999'" in problems[1].message
    assert "(did you mean 'takt_s'?)" in problems[2].message
    assert "got -5" in problems[3].message
    assert "got '11:99'" in problems[4].message


def test_error_text_names_file_line_and_field() -> None:
    with pytest.raises(PlantFileError) as caught:
        parse_plant(edit("cycle_s: 70", "cycle_s: -5"), "yz1.yaml")
    assert str(caught.value) == "yz1.yaml:16: lines[0].stations[0].cycle_s: must be > 0, got -5"
    assert isinstance(caught.value, LinespeedError)
    assert caught.value.code == "plant.invalid"


def test_yaml_alias_that_contains_itself_is_a_problem_not_a_crash() -> None:
    problems = problems_of(CONTRACT + "extra: &loop [*loop]\n")
    assert ("extra[0]", 23) in [(p.field, p.line) for p in problems]


# Valid variations


def test_unquoted_clock_times_are_times_not_base_60_numbers() -> None:
    text = edit('start: "07:00", end: "15:30"', "start: 07:00, end: 15:30")
    assert parse_plant(text, "plant.yaml").shifts[0].end == "15:30"


def test_shift_crossing_midnight_with_break_after_midnight() -> None:
    shift = (
        '  - {name: C, start: "22:00", end: "06:00", breaks: [{start: "01:30", end: "02:00"}]}\n'
    )
    plant = parse_plant(insert_after(21, shift), "plant.yaml")
    assert plant.shifts[1].breaks[0].start == "01:30"


def test_merge_keys_fill_in_station_defaults() -> None:
    text = CONTRACT.replace(
        "      - {id: ga-120,   area: ga,    cycle_s: 72, buffer: 1}\n",
        "      - &ga {id: ga-120, area: ga, cycle_s: 72, buffer: 1}\n"
        "      - {<<: *ga, id: ga-130}\n",
    )
    station = parse_plant(text, "plant.yaml").stations_by_id["ga-130"]
    assert (station.area, station.cycle_s, station.buffer) == ("ga", 72, 1)


def test_milestones_and_shifts_may_be_left_out() -> None:
    text = CONTRACT.split("shifts:\n")[0]
    plant = parse_plant(text, "plant.yaml")
    assert plant.shifts == ()
    assert plant.milestones.every is None


# Reading files


def test_load_plant_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "yz1.yaml"
    path.write_text(CONTRACT, encoding="utf-8")
    assert load_plant(path) == parse_plant(CONTRACT, "other.yaml")


def test_load_plant_names_the_file_in_problems(tmp_path: Path) -> None:
    path = tmp_path / "yz1.yaml"
    path.write_text(edit("takt_s: 76", "takt_s: 0"), encoding="utf-8")
    with pytest.raises(PlantFileError) as caught:
        load_plant(str(path))
    assert [(p.file, p.line) for p in caught.value.problems] == [(str(path), 14)]


def test_load_plant_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(PlantFileError) as caught:
        load_plant(path)
    assert caught.value.problems == [FileProblem(str(path), None, "", "no such file")]
    assert str(caught.value) == f"{path}: no such file"


def test_load_plant_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(CONTRACT.replace("Yizhuang", "Yizhuäng").encode("latin-1"))
    with pytest.raises(PlantFileError) as caught:
        load_plant(path)
    assert "is not UTF-8 text" in caught.value.problems[0].message
