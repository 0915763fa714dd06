"""The docs document the contracts the code enforces."""

from __future__ import annotations

from pathlib import Path

import pytest

from linespeed.events.reasons import REASONS
from linespeed.events.types import KINDS

DOCS = Path(__file__).parents[1] / "docs"


@pytest.mark.parametrize("code", sorted(REASONS))
def test_every_reason_code_is_documented(code: str) -> None:
    assert f"`{code}`" in (DOCS / "events.md").read_text()


@pytest.mark.parametrize("kind", KINDS)
def test_every_event_kind_is_documented(kind: str) -> None:
    assert f"`{kind}`" in (DOCS / "events.md").read_text()


def test_readme_starts_with_the_two_commands() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    first_section = readme.split("\n## ")[1]
    assert "make demo" in first_section and "make test" in first_section
