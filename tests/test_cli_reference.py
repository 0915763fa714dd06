"""docs/cli-reference.md is what docs/cli_reference.py makes from the commands' `--help`."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

DOCS = Path(__file__).parents[1] / "docs"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cli_reference", DOCS / "cli_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_reference_is_what_the_help_gives() -> None:
    committed = (DOCS / "cli-reference.md").read_text(encoding="utf-8")
    assert committed == _generator().render(), (
        "docs/cli-reference.md is out of date: run `python docs/cli_reference.py`"
    )


def test_the_reference_does_not_depend_on_the_terminal_width(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    generator = _generator()
    monkeypatch.setenv("COLUMNS", "40")
    narrow = generator.render()
    monkeypatch.setenv("COLUMNS", "300")
    assert narrow == generator.render()
    longest = max(len(line) for line in narrow.splitlines())
    assert longest > 120, "help text is rendered on whole lines, not cut to 80 columns"


def test_check_exits_1_when_the_page_differs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    generator = _generator()
    stale = tmp_path / "cli-reference.md"
    stale.write_text(generator.render().replace("--batch-size", "--batch"), encoding="utf-8")
    monkeypatch.setattr(generator, "REFERENCE_PATH", stale)
    assert generator.main(["--check"]) == 1
    assert "out of date" in capsys.readouterr().out
    assert generator.main([]) == 0
    assert generator.main(["--check"]) == 0


def test_every_command_and_option_is_in_the_reference() -> None:
    import typer

    from linespeed import cli

    page = (DOCS / "cli-reference.md").read_text(encoding="utf-8")

    def walk(command: typer.core.TyperGroup | typer.core.TyperCommand, path: str) -> None:
        assert f"## `{path}`\n" in page, path
        for param in command.params:
            for name in param.opts:
                if name.startswith("--"):
                    assert f"`{name}" in page.split(f"## `{path}`\n")[1].split("\n## ")[0], (
                        path,
                        name,
                    )
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(typer.main.get_group(cli.app), "linespeed")


def _sections() -> dict[str, str]:
    """The hand-written section of each command: `## linespeed X` up to the next `## `."""
    found: dict[str, str] = {}
    for page in DOCS.glob("*.md"):
        if page.name == "cli-reference.md":
            continue
        for block in page.read_text(encoding="utf-8").split("\n## ")[1:]:
            heading, _, body = block.partition("\n")
            if heading.startswith("linespeed "):
                found[heading.removeprefix("linespeed ")] = body
    return found


def test_every_option_is_named_in_its_command_s_hand_written_section() -> None:
    import typer

    from linespeed import cli

    sections = _sections()
    missing: list[str] = []

    def walk(command: typer.core.TyperGroup | typer.core.TyperCommand, path: str) -> None:
        body = sections.get(path)
        if body is not None:
            for param in command.params:
                missing.extend(
                    f"linespeed {path} {name}"
                    for name in param.opts
                    # --db and --plant are documented once, in docs/cli.md's "The database"
                    # section; commands where --plant means more say so in their own.
                    if name.startswith("--") and name not in ("--help", "--db", "--plant")
                    if name not in body
                )
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}".strip())

    walk(typer.main.get_group(cli.app), "")
    assert missing == []
