"""The console examples of every page in docs/, run as written: the output shown is the output made.

Each ```console block is run in a fresh folder by bash, one `$ ` line after another, with
`linespeed` from this environment; what each command prints (stdout, then stderr) must be
the lines the block shows under it. A line `...` ends what is compared: the rest is elided.
Two things a run cannot repeat are not compared: the clock time a dead letter was received
(`received 2026-11-28 16:23:02+08:00`: its offset is compared) and the path of the fresh
folder, which is printed as `/tmp/sc`.

A block that needs files the page describes but does not create gets them from SETUP, by its
page and first command. A block whose output cannot be made here (a service, a clock) is
listed in SKIPPED with the reason. The blocks run in parallel, one per CPU, all started by the
first test that needs a result; each test then compares its own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest

from linespeed.plant.load import DEFAULT_PLANT_PATH, load_plant

DOCS: Final = Path(__file__).parents[2] / "docs"
PAGES: Final = sorted(path for path in DOCS.glob("*.md") if path.name != "cli-reference.md")
MARK: Final = "<<<linespeed-docs-example>>>"
SCENARIO_PATH: Final = Path(__file__).parents[2] / "src/linespeed/sim/default-scenario.yaml"
LINESPEED: Final = Path(sys.executable).parent / "linespeed"
STORE_LOCK: Final = threading.Lock()
FOLDER_SHOWN: Final = "/tmp/sc"
RECEIVED: Final = re.compile(r"received \d{4}-\d\d-\d\d \d\d:\d\d:\d\d")

WALKTHROUGH = "needs the event files of the page's walkthrough (ev.jsonl, late.jsonl, ...)"
BROKER = "needs a running service: an MQTT broker at 127.0.0.1:1883"
SKIPPED: Final = {
    ("cli.md", "linespeed --help"): "help text: the option tables are checked on their own",
    ("cli.md", "linespeed init"): WALKTHROUGH,
    ("cli.md", "linespeed init --db postgresql+psycopg://u:secret@127.0.0.1:1/x"): (
        "libpq's own words"
    ),
    ("cli.md", "linespeed init --simulation --db sqlite:///sim.db"): "needs line.jsonl",
    ("cli.md", "linespeed ingest line3.csv shift.csv"): WALKTHROUGH,
    ("cli.md", "linespeed ingest ev.jsonl"): WALKTHROUGH,
    ("cli.md", "linespeed unit LSPA1S7E2SB000009"): WALKTHROUGH,
    ("cli.md", "linespeed unit LSPA1S7E3SB000004"): WALKTHROUGH,
    ("cli.md", "linespeed deadletters --json retry"): "its output is shown in the JSON block below",
    (
        "cli.md",
        "linespeed deadletters retry",
    ): "needs the CSV dead letters of events.md's line2.csv",
    ("cli.md", "linespeed rebuild"): WALKTHROUGH,
    ("mqtt.md", "linespeed mqtt ingest --broker mqtt://127.0.0.1:1883"): (
        f"{BROKER}, and Ctrl-C to stop the bridge"
    ),
    ("mqtt.md", "linespeed init --simulation"): (
        f"{BROKER}; the bridge runs on in the background, and the time to publish varies"
    ),
}
"""Blocks not run, by their page and first command."""


@dataclass(frozen=True)
class Step:
    command: str
    shown: list[str]


@dataclass(frozen=True)
class Example:
    page: str
    line: int
    steps: list[Step]

    @property
    def key(self) -> tuple[str, str]:
        return self.page, self.steps[0].command

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def _examples(path: Path) -> list[Example]:
    examples: list[Example] = []
    steps: list[Step] | None = None
    start = 0
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if steps is None:
            if text.strip() == "```console":
                steps, start = [], number
        elif text.startswith("```"):
            examples.append(Example(path.name, start, steps))
            steps = None
        elif text.startswith("$ "):
            steps.append(Step(text[2:], []))
        elif steps:
            steps[-1].shown.append(text)
    return examples


def _block_above(example: Example, language: str = "") -> str:
    """The text of the last fenced block above the example on its page (in `language`)."""
    lines = (DOCS / example.page).read_text(encoding="utf-8").splitlines(keepends=True)
    fences = [number for number in range(example.line - 1) if lines[number].startswith("```")]
    openings = [
        opening
        for opening, closing in zip(fences[::2], fences[1::2], strict=True)
        if lines[opening].strip().startswith(f"```{language}")
    ]
    opening = openings[-1]
    closing = fences[fences.index(opening) + 1]
    return "".join(lines[opening + 1 : closing])


def _init(folder: Path) -> None:
    """A store made by `linespeed init` in the folder: a copy of one made once, beside it."""
    template = folder.parent / "store-made-by-init"
    with STORE_LOCK:
        if not template.exists():
            template.mkdir()
            subprocess.run([LINESPEED, "init"], cwd=template, capture_output=True, check=True)
    shutil.copyfile(template / "linespeed.db", folder / "linespeed.db")


def _file_above(name: str) -> Callable[[Path, Example], None]:
    """A store, and the file the page shows just above the example, as `name`."""

    def setup(folder: Path, example: Example) -> None:
        _init(folder)
        (folder / name).write_text(_block_above(example), encoding="utf-8")

    return setup


def _line2_csv(folder: Path, example: Example) -> None:
    """A store holding the good events of line1.jsonl, and line2.csv as the page describes it:
    a byte-order mark, `päss` in Latin-1."""
    _init(folder)
    good = _block_above(example, "jsonl").splitlines(keepends=True)[:3]
    assert all(line.startswith('{"id": "j-0') for line in good), good
    (folder / "good.jsonl").write_text("".join(good), encoding="utf-8")
    subprocess.run([LINESPEED, "ingest", "good.jsonl"], cwd=folder, capture_output=True, check=True)
    text = _block_above(example)
    assert "päss" in text
    data = text.encode("utf-8").replace("päss".encode(), "päss".encode("latin-1"))
    (folder / "line2.csv").write_bytes(b"\xef\xbb\xbf" + data)


def _early(folder: Path, example: Example) -> None:
    """A store; early.jsonl: car 7 at body-030 before its start; start7.jsonl: its start."""
    _init(folder)
    vin = "LSPA1S7E9SB000007"
    (folder / "early.jsonl").write_text(
        f'{{"id": "e7-2", "ts": "2025-06-30T10:01:10+08:00", "kind": "station.completed", '
        f'"vin": "{vin}", "station": "body-030", "result": "ok"}}\n',
        encoding="utf-8",
    )
    (folder / "start7.jsonl").write_text(
        f'{{"id": "e7-1", "ts": "2025-06-30T10:00:00+08:00", "kind": "unit.started", '
        f'"vin": "{vin}", "model": "s7", "color": "pearl-white"}}\n',
        encoding="utf-8",
    )


def _late(folder: Path, example: Example) -> None:
    """A store holding the dead letters of cli.md's late.jsonl (car 4 not started yet)."""
    _init(folder)
    blocks = (DOCS / "cli.md").read_text(encoding="utf-8").split("```")
    late = next(block for block in blocks if '"id": "late-02"' in block)
    (folder / "late.jsonl").write_text(late.removeprefix("jsonl\n"), encoding="utf-8")
    subprocess.run([LINESPEED, "ingest", "late.jsonl"], cwd=folder, capture_output=True, check=True)


def _late_and_start(folder: Path, example: Example) -> None:
    """cli.md's late.jsonl refused, then the start of its car accepted: one retry resolves."""
    _late(folder, example)
    (folder / "start.jsonl").write_text(
        '{"id": "late-01", "ts": "2025-06-30T09:00:00+08:00", "kind": "unit.started", '
        '"vin": "LSPA1S7E3SB000004", "model": "s7", "color": "pearl-white"}\n',
        encoding="utf-8",
    )
    subprocess.run(
        [LINESPEED, "ingest", "start.jsonl"], cwd=folder, capture_output=True, check=True
    )


def _start_above(folder: Path, example: Example) -> None:
    """cli.md's late.jsonl refused, and start.jsonl as the page shows it above."""
    _late(folder, example)
    (folder / "start.jsonl").write_text(_block_above(example, "jsonl"), encoding="utf-8")


def _plant_files(folder: Path, example: Example) -> None:
    plant = DEFAULT_PLANT_PATH.read_text(encoding="utf-8")
    (folder / "yz1.yaml").write_text(plant, encoding="utf-8")
    (folder / "yz2.yaml").write_text(
        re.sub(r"^plant: yz1", "plant: yz2", plant, flags=re.MULTILINE), encoding="utf-8"
    )
    lines = plant.splitlines(keepends=True)
    lines[95] = lines[95].replace("takt_s: 76", "takt_s: -76")
    lines[128] = lines[128].replace("cycle_s: 68", "cycle_s: fast")
    (folder / "bad.yaml").write_text("".join(lines), encoding="utf-8")


def _plants_folder(folder: Path, example: Example) -> None:
    (folder / "plants").mkdir()
    (folder / "plants/yz1.yaml").write_text(
        DEFAULT_PLANT_PATH.read_text(encoding="utf-8"), encoding="utf-8"
    )


def _checkout(folder: Path, example: Example) -> None:
    """The bundled scenario where a checkout of linespeed has it."""
    (folder / "src/linespeed/sim").mkdir(parents=True)
    (folder / "src/linespeed/sim/default-scenario.yaml").write_text(
        SCENARIO_PATH.read_text(encoding="utf-8"), encoding="utf-8"
    )


def _edited(lines: list[str], edits: dict[int, tuple[str, str]]) -> str:
    """The scenario's lines with `old` replaced by `new` on the given lines (from 1)."""
    edited = list(lines)
    for number, (old, new) in edits.items():
        assert old in edited[number - 1], (number, old)
        edited[number - 1] = edited[number - 1].replace(old, new)
    return "".join(edited)


def _scenario_mistakes(folder: Path, example: Example) -> None:
    """The copies of the bundled scenario with the mistakes the page shows, by file."""
    lines = SCENARIO_PATH.read_text(encoding="utf-8").splitlines(keepends=True)
    copies = {
        "bad.yaml": {
            12: ("shifts: [A, B]", "shifts: [A, N]"),
            20: ("from: 2024-06-03, ", ""),
            28: ("ga-140", "ga-14"),
            33: ("mttr_min: 20", "mttr_min: -20"),
            41: ("rain-test", "rain-tset"),
            51: ("BRK-2202", "BRK-2203"),
            69: ("x9", "x8"),
        },
        "dates.yaml": {11: ("2024-03-01", "2024-03-04"), 21: ("2024-08-01", "2024-05-01")},
        "typo.yaml": {
            7: ("20240301", "-1"),
            25: ("halflife_days", "half_life_days"),
            45: ("0.0003", "3%"),
        },
        "more.yaml": {11: ("[mon,", "[monday,")},
        "plant.yaml": {5: ("# plant: ../plants/yz1.yaml", "plant: plants/yz1.yaml #")},
        "line.yaml": {6: ("l1", "l2")},
        "colors.yaml": {
            69: ("}", "}\n  colors: {s7: {graphite-grey: 1}}"),
        },
    }
    for name, edits in copies.items():
        (folder / name).write_text(_edited(lines, edits), encoding="utf-8")
    with (folder / "more.yaml").open("a", encoding="utf-8") as more:
        more.write(
            "\nshortages:\n"
            "  - {part: BAT-1001, from: 2024-06-10, hours: 16}\n"
            "  - {part: BAT-9999, from: 2024-06-10, hours: 0}\n"
        )


AFTERSALES: Final = "linespeed aftersales plan --deliveries"
_NAMED_FILE: Final = re.compile(r"`([A-Za-z0-9_.-]+\.(?:csv|yaml))`:")


def _named_files(folder: Path, example: Example) -> None:
    """Every file the page shows under its name (a line "`name.csv`:" above a fenced block)."""
    lines = (DOCS / example.page).read_text(encoding="utf-8").splitlines(keepends=True)
    for number, line in enumerate(lines[:-1]):
        named = _NAMED_FILE.fullmatch(line.strip())
        if named is None or not lines[number + 1].startswith("```"):
            continue
        closing = next(
            index for index in range(number + 2, len(lines)) if lines[index].startswith("```")
        )
        (folder / named.group(1)).write_text("".join(lines[number + 2 : closing]), "utf-8")


SETUP: Final[dict[tuple[str, str], Callable[[Path, Example], None]]] = {
    (
        "aftersales.md",
        f"{AFTERSALES} deliveries.csv --params params.yaml --until 2025-02",
    ): _named_files,
    (
        "aftersales.md",
        f"{AFTERSALES} deliveries.csv --regions regions.csv --network network.csv --until 2025-08",
    ): _named_files,
    ("aftersales.md", f"{AFTERSALES} deliveries.csv --until 2025-01 --json"): _named_files,
    ("aftersales.md", "linespeed aftersales plan --deliveries bad-deliveries.csv"): _named_files,
    ("aftersales.md", f"{AFTERSALES} deliveries.csv --regions bad-regions.csv"): _named_files,
    (
        "aftersales.md",
        f"{AFTERSALES} deliveries.csv --regions regions.csv --network bad-network.csv",
    ): _named_files,
    ("cli.md", "linespeed init --db sqlite:///t.db"): _plant_files,
    ("cli.md", "linespeed plant check yz1.yaml"): _plant_files,
    ("cli.md", "linespeed deadletters"): _late,
    ("cli.md", "linespeed ingest start.jsonl"): _start_above,
    ("events.md", "linespeed ingest line1.jsonl"): _file_above("line1.jsonl"),
    ("events.md", "linespeed ingest line1.csv"): _file_above("line1.csv"),
    ("events.md", "linespeed ingest line2.csv"): _line2_csv,
    ("events.md", "linespeed ingest early.jsonl"): _early,
    ("events.md", "linespeed deadletters retry"): _late_and_start,
    ("plant.md", "linespeed plant check plants/yz1.yaml"): _plants_folder,
    ("plant.md", "linespeed plant check yz1.yaml"): _file_above("yz1.yaml"),
    ("scenario.md", "cp src/linespeed/sim/default-scenario.yaml my-ramp.yaml"): _checkout,
    ("scenario.md", "linespeed simulate bad.yaml --days 1 --out /dev/null"): _scenario_mistakes,
    ("scenario.md", "linespeed simulate dates.yaml --days 1 --out /dev/null"): _scenario_mistakes,
    ("scenario.md", "linespeed simulate typo.yaml --days 1 --out /dev/null"): _scenario_mistakes,
    ("scenario.md", "linespeed simulate more.yaml --days 1 --out /dev/null"): _scenario_mistakes,
    ("scenario.md", "linespeed simulate plant.yaml --days 1 --out /dev/null"): _scenario_mistakes,
    ("scenario.md", "cp src/linespeed/sim/default-scenario.yaml base.yaml"): _checkout,
}
"""Files a block needs that its page describes but does not create, by page and first command."""

ALL_EXAMPLES: Final = [example for page in PAGES for example in _examples(page) if example.steps]
EXAMPLES: Final = [example for example in ALL_EXAMPLES if example.key not in SKIPPED]


def _run(example: Example, folder: Path) -> list[list[str]]:
    setup = SETUP.get(example.key)
    if setup is not None:
        setup(folder, example)
    script = [f"cd {folder}"]
    for step in example.steps:
        script.append(f"{step.command} 2>&1; rc=$?; echo '{MARK}'; (exit $rc)")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("LINESPEED_DB", "COLUMNS", "LINES")
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    outputs = done.stdout.replace(str(folder), FOLDER_SHOWN).split(f"{MARK}\n")
    assert len(outputs) == len(example.steps) + 1, done.stdout + done.stderr
    return [output.splitlines() for output in outputs[:-1]]


@pytest.fixture(scope="module")
def printed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[list[list[str]]]]]:
    """What the examples of the tests selected print, by example id, run in parallel."""
    selected: list[Example] = []
    for item in request.session.items:
        if (
            isinstance(item, pytest.Function)
            and item.originalname == test_console_example_prints_what_the_doc_shows.__name__
        ):
            example = item.callspec.params["example"]
            assert isinstance(example, Example)
            selected.append(example)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {
            example.id: pool.submit(_run, example, tmp_path_factory.mktemp("example"))
            for example in selected
        }
        yield futures
        for future in futures.values():
            future.cancel()


def test_the_page_has_examples_to_run() -> None:
    assert set(SKIPPED) <= {example.key for example in ALL_EXAMPLES}, (
        "a skipped example is no longer in docs/"
    )
    assert set(SETUP) <= {example.key for example in EXAMPLES}, "a set-up for no example"
    for page in {example.page for example in ALL_EXAMPLES}:
        run = [example for example in EXAMPLES if example.page == page]
        assert run or all(
            SKIPPED[example.key].startswith(BROKER)
            for example in ALL_EXAMPLES
            if example.page == page
        ), f"{page}: no example is run, and not every one needs a service"
    assert len(EXAMPLES) >= 25


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES, ids=[example.id for example in EXAMPLES])
def test_console_example_prints_what_the_doc_shows(
    example: Example, printed: dict[str, Future[list[list[str]]]]
) -> None:
    for step, made in zip(example.steps, printed[example.id].result(), strict=True):
        shown = [RECEIVED.sub("received TIME", line) for line in step.shown]
        made = [RECEIVED.sub("received TIME", line) for line in made]
        if "..." in shown:
            shown = shown[: shown.index("...")]
            made = made[: len(shown)]
        assert made == shown, f"$ {step.command}"


@pytest.mark.parametrize(
    ("written", "valid"),
    [("true", True), ("yes", True), ("Yes", True), ("on", True), ('"yes"', False), ("1", False)],
)
def test_plant_md_says_which_true_is_accepted(
    run: Any, tmp_path: Path, written: str, valid: bool
) -> None:
    plant = DEFAULT_PLANT_PATH.read_text(encoding="utf-8")
    line = "{part: BRK-2201, station: ga-090, serialized: false"
    assert line in plant
    path = tmp_path / "plant.yaml"
    path.write_text(plant.replace(line, line.replace("false", written)), encoding="utf-8")
    checked = run("plant", "check", str(path))
    assert checked.exit_code == (0 if valid else 1), checked.stderr
    if valid:
        loaded = load_plant(path)
        brake = next(p for m in loaded.models for p in m.parts if p.part == "BRK-2201")
        assert brake.serialized is True
    else:
        assert "must be true or false" in checked.stderr
