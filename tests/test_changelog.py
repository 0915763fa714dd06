"""The version is one number: pyproject.toml, `linespeed.__version__` and CHANGELOG.md agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import linespeed

ROOT = Path(__file__).parents[1]
RELEASE = re.compile(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", re.MULTILINE)


def test_the_package_and_pyproject_give_the_same_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert linespeed.__version__ == project["version"]


def test_the_changelog_s_newest_release_is_this_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = RELEASE.findall(changelog)
    assert releases, "CHANGELOG.md has no '## [X.Y.Z] - YYYY-MM-DD' release heading"
    assert releases[0][0] == linespeed.__version__
    numbers = [tuple(int(part) for part in number.split(".")) for number, _ in releases]
    assert numbers == sorted(numbers, reverse=True), "releases are listed newest first"
    assert [day for _, day in releases] == sorted((day for _, day in releases), reverse=True)
    assert changelog.index("## [Unreleased]") < changelog.index(f"## [{releases[0][0]}]")
