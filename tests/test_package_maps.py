"""Every package's `__init__` docstring is a map of the package: it names each of its modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import linespeed

SOURCE = Path(linespeed.__file__).parent
PACKAGES = sorted(
    path.parent for path in SOURCE.rglob("__init__.py") if "migrations" not in path.parts
)


@pytest.mark.parametrize("package", PACKAGES, ids=lambda path: str(path.relative_to(SOURCE.parent)))
def test_the_package_docstring_names_every_module(package: Path) -> None:
    docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
    modules = sorted(
        path.stem for path in package.glob("*.py") if not path.stem.startswith("_")
    ) + sorted(
        path.name
        for path in package.iterdir()
        if path.is_dir() and (path / "__init__.py").is_file() and path.name != "migrations"
    )
    if package == SOURCE:
        modules = [name for name in modules if (SOURCE / name).is_dir()]
    missing = [name for name in modules if f"`{name}`" not in docstring]
    assert missing == [], f"{package.name}/__init__.py does not name {missing}"
