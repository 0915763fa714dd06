"""The console examples of every page in docs/, run as written: the output shown is the output made.

Each ```console block is run in a fresh folder by bash, one `$ ` line after another, with
`linespeed` from this environment; what each command prints (stdout, then stderr) must be
the lines the block shows under it. A line `...` ends what is compared: the rest is elided.
A block whose output cannot be made here (a service, a clock, files built elsewhere in the
page) is listed in SKIPPED with the reason.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest

from linespeed.plant.load import DEFAULT_PLANT_PATH, load_plant

DOCS: Final = Path(__file__).parents[2] / "docs"
CLI_DOC: Final = DOCS / "cli.md"
PAGES: Final = sorted(path for path in DOCS.glob("*.md") if path.name != "cli-reference.md")
MARK: Final = "<<<linespeed-docs-example>>>"

WALKTHROUGH = "needs the event files of the page's walkthrough (ev.jsonl, late.jsonl, ...)"
SKIPPED: Final = {
    "linespeed --help": "help text: the option tables are checked on their own",
    "linespeed init": WALKTHROUGH,
    "linespeed init --db postgresql+psycopg://u:secret@127.0.0.1:1/x": "libpq's own words",
    "linespeed init --simulation --db sqlite:///sim.db": "needs line.jsonl",
    "linespeed ingest line3.csv shift.csv": WALKTHROUGH,
    "linespeed ingest ev.jsonl": WALKTHROUGH,
    "linespeed unit LSPA1S7E2SB000009": WALKTHROUGH,
    "linespeed unit LSPA1S7E3SB000004": WALKTHROUGH,
    "linespeed deadletters": "prints the time the letters were received",
    "linespeed ingest start.jsonl": "prints the time the letters were received",
    "linespeed deadletters --json retry": WALKTHROUGH,
    "linespeed deadletters retry": WALKTHROUGH,
    "linespeed rebuild": WALKTHROUGH,
}
"""Blocks not run, by their first command."""


@dataclass(frozen=True)
class Step:
    command: str
    shown: list[str]


@dataclass(frozen=True)
class Example:
    page: str
    line: int
    steps: list[Step]


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


def _plant_files(folder: Path) -> None:
    plant = DEFAULT_PLANT_PATH.read_text(encoding="utf-8")
    (folder / "yz1.yaml").write_text(plant, encoding="utf-8")
    (folder / "yz2.yaml").write_text(
        re.sub(r"^plant: yz1", "plant: yz2", plant, flags=re.MULTILINE), encoding="utf-8"
    )
    lines = plant.splitlines(keepends=True)
    lines[95] = lines[95].replace("takt_s: 76", "takt_s: -76")
    lines[128] = lines[128].replace("cycle_s: 68", "cycle_s: fast")
    (folder / "bad.yaml").write_text("".join(lines), encoding="utf-8")


SETUP: Final[dict[str, Callable[[Path], None]]] = {
    "linespeed init --db sqlite:///t.db": _plant_files,
    "linespeed plant check yz1.yaml": _plant_files,
}
"""Files a block needs that the page describes but does not create, by its first command."""

EXAMPLES: Final = [
    example
    for page in PAGES
    for example in _examples(page)
    if example.steps and example.steps[0].command not in SKIPPED
]


def _run(example: Example, folder: Path) -> list[list[str]]:
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
    outputs = done.stdout.split(f"{MARK}\n")
    assert len(outputs) == len(example.steps) + 1, done.stdout + done.stderr
    return [output.splitlines() for output in outputs[:-1]]


def test_the_page_has_examples_to_run() -> None:
    assert len(EXAMPLES) >= 8
    firsts = {
        example.steps[0].command for page in PAGES for example in _examples(page) if example.steps
    }
    assert set(SKIPPED) <= firsts, "a skipped example is no longer in docs/"


@pytest.mark.slow
@pytest.mark.parametrize(
    "example", EXAMPLES, ids=[f"{example.page}:{example.line}" for example in EXAMPLES]
)
def test_console_example_prints_what_the_doc_shows(example: Example, tmp_path: Path) -> None:
    setup = SETUP.get(example.steps[0].command)
    if setup is not None:
        setup(tmp_path)
    for step, printed in zip(example.steps, _run(example, tmp_path), strict=True):
        shown = step.shown
        if "..." in shown:
            shown = shown[: shown.index("...")]
            printed = printed[: len(shown)]
        assert printed == shown, f"$ {step.command}"


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
