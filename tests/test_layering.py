"""The layering of `linespeed`: no lower package imports a higher one, and the faces stay thin.

Every module under src/linespeed is parsed with `ast`; every `import` counts, at the top of a
module or inside a function (or under `TYPE_CHECKING`). The rules are DESIGN.md's:

- `RANKS`: a package imports only packages of a lower rank (and itself); packages of one
  rank know nothing of each other. A new package must be given its rank here.
- `store` knows nothing of `kpi`; `sim` knows nothing of `store` (it yields events);
  `ingest` imports nothing from `ramp`.
- Nothing imports a face (`cli`, `api`, `bridges`, `web`) except `cli`, which may start the
  server (`linespeed.api`, `.app`, `.server`) and the bridges; faces never import each other
  otherwise.
- Faces hold no queries: no face imports the tables (`linespeed.store.schema`).

Today's code breaks a few of them where a later item of issue 12 moves things: each is in
`EXCEPTIONS`, named, with the item that removes it, and an exception no longer used fails
too, so the list only shrinks.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import linespeed

SOURCE: Final = Path(linespeed.__file__).parent
ROOT: Final = "linespeed"

RANKS: Final[tuple[frozenset[str], ...]] = (
    frozenset({"errors"}),
    # environment: the URLs and password files the store and the wire libraries read;
    # logs: how long-running commands write their log lines
    frozenset({"environment", "logs"}),
    # mqtt, natsio: the wire libraries, under bridges, sim and cli
    frozenset({"yamlfile", "csvfile", "mqtt", "natsio"}),
    frozenset({"plant"}),
    frozenset({"events"}),
    frozenset({"store"}),
    frozenset({"ingest"}),
    # supply: the plan (read by kpi, ramp, live) and the parts supply;
    # metrics: Prometheus counts of ingest (watched through ingest's hook) and of the lines'
    # newest cars (store), read by api, bridges' commands and cli
    frozenset({"supply", "metrics"}),
    frozenset({"access", "kpi", "trace", "ramp", "sim"}),
    # live: news of the log: milestones (ramp), token revocation (access);
    # aftersales: the fleet in operation from the store's deliveries (store, ramp's level);
    # twin: a scenario (sim) fitted from the store with the KPIs' stops, forecasts for ramp
    frozenset({"live", "aftersales", "twin"}),
    # webhooks: the live news POSTed to the plant's URLs, run by `serve` and by the cli
    frozenset({"webhooks"}),
    frozenset({"api", "bridges", "web", "cli"}),
)
"""Packages from the bottom up; the top-level modules (`errors`, `yamlfile`, `csvfile`,
`environment`, `logs`) too."""
FACES: Final = frozenset({"api", "bridges", "web", "cli"})
SERVER_START: Final = frozenset({"linespeed.api", "linespeed.api.app", "linespeed.api.server"})
"""What `cli` may import of `api`: enough to start the server."""

EXCEPTIONS: Final[frozenset[tuple[str, str, str]]] = frozenset()
"""(importing module, imported module, rule) broken today, each removed by a named item."""


@dataclass(frozen=True)
class Import:
    """One import of a linespeed module by another."""

    importer: str
    imported: str
    line: int


def module_name(path: Path) -> str:
    """The dotted name of a source file under SOURCE."""
    parts = (ROOT, *path.relative_to(SOURCE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    relative = Path(*name.split(".")[1:])
    return (SOURCE / relative).with_suffix(".py").is_file() or (SOURCE / relative).is_dir()


def imports_of(path: Path, importer: str | None = None) -> Iterator[Import]:
    """Every module that the file at `path` imports, wherever the import stands.

    `importer` names the file (default: its name under SOURCE). `from linespeed.x import y`
    imports `linespeed.x.y` when that is a module, else `linespeed.x`; relative imports are
    resolved against the importing module.
    """
    importer = importer or module_name(path)
    package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(importer, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                on_root = candidate.startswith(f"{ROOT}.")
                yield Import(
                    importer, candidate if on_root and _is_module(candidate) else base, node.lineno
                )


def all_imports() -> list[Import]:
    """Every import between linespeed modules, in file order."""
    found: list[Import] = []
    for path in sorted(SOURCE.rglob("*.py")):
        found.extend(
            each
            for each in imports_of(path)
            if each.imported == ROOT or each.imported.startswith(f"{ROOT}.")
        )
    return found


def package_of(module: str) -> str:
    """The top-level package (or module) of a linespeed module: `store` for `linespeed.store.x`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def rank_of(package: str) -> int | None:
    """The rank of a package in RANKS, None if it has none."""
    for rank, packages in enumerate(RANKS):
        if package in packages:
            return rank
    return None


def _ranks(found: Import, lower: str, higher: str) -> str | None:
    lower_rank, higher_rank = rank_of(lower), rank_of(higher)
    if higher_rank is None:
        return f"`{higher}` has no rank: give it one in RANKS"
    if lower_rank is None:
        return f"`{lower}` has no rank: give it one in RANKS"
    if higher_rank == lower_rank and lower not in FACES:
        return f"`{lower}` and `{higher}` are of one rank and know nothing of each other"
    if higher_rank > lower_rank:
        return f"`{lower}` (rank {lower_rank}) imports `{higher}` (rank {higher_rank})"
    return None


def _store_kpi(found: Import, importer: str, imported: str) -> str | None:
    return "`store` knows nothing of `kpi`" if (importer, imported) == ("store", "kpi") else None


def _sim_store(found: Import, importer: str, imported: str) -> str | None:
    if (importer, imported) == ("sim", "store"):
        return "`sim` knows nothing of `store`: it yields events"
    return None


def _ingest_ramp(found: Import, importer: str, imported: str) -> str | None:
    if (importer, imported) == ("ingest", "ramp"):
        return "`ingest` imports nothing from `ramp`"
    return None


def _faces(found: Import, importer: str, imported: str) -> str | None:
    if imported not in FACES:
        return None
    if importer == "cli" and (imported == "bridges" or found.imported in SERVER_START):
        return None
    if importer == "cli" and imported == "api":
        return "`cli` imports `api` only to start the server (linespeed.api, .app, .server)"
    return f"nothing imports the face `{imported}` but `cli` (server and bridges)"


def _queries(found: Import, importer: str, imported: str) -> str | None:
    if importer in FACES and found.imported == "linespeed.store.schema":
        return f"the face `{importer}` holds no queries: it reads through the library"
    return None


Rule = Callable[[Import, str, str], str | None]
RULES: Final[dict[str, Rule]] = {
    "ranks": _ranks,
    "store-kpi": _store_kpi,
    "sim-store": _sim_store,
    "ingest-ramp": _ingest_ramp,
    "faces": _faces,
    "queries": _queries,
}


def broken_rules(found: Import) -> Iterator[tuple[str, str]]:
    """(rule, what it says) for each rule that the import breaks."""
    importer, imported = package_of(found.importer), package_of(found.imported)
    if not importer or imported in {"", importer}:
        return
    for name, rule in RULES.items():
        broken = rule(found, importer, imported)
        if broken is not None:
            yield name, broken


def violations(found_imports: list[Import]) -> list[tuple[Import, str, str]]:
    """(import, rule, what it says) for every broken rule."""
    return [
        (found, name, broken) for found in found_imports for name, broken in broken_rules(found)
    ]


def _report(found: Import, rule: str, broken: str) -> str:
    return f"{found.importer} (line {found.line}) imports {found.imported}: [{rule}] {broken}"


def test_no_lower_package_imports_a_higher_one() -> None:
    broken = [
        _report(*each)
        for each in violations(all_imports())
        if (each[0].importer, each[0].imported, each[1]) not in EXCEPTIONS
    ]
    assert not broken, "layering broken:\n" + "\n".join(broken)


def test_every_exception_is_still_needed() -> None:
    used = {(found.importer, found.imported, rule) for found, rule, _ in violations(all_imports())}
    stale = sorted(EXCEPTIONS - used)
    assert not stale, "exceptions no longer needed, remove them from EXCEPTIONS:\n" + "\n".join(
        f"{importer} -> {imported} [{rule}]" for importer, imported, rule in stale
    )


def test_every_package_has_a_rank() -> None:
    packages = {
        path.stem if path.is_file() else path.name
        for path in SOURCE.iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and (path / "__init__.py").is_file())
    }
    assert sorted(package for package in packages if rank_of(package) is None) == []


def test_the_rules_name_importer_imported_and_rule() -> None:
    found = [
        Import("linespeed.store.kpi_view", "linespeed.kpi.counts", 3),
        Import("linespeed.sim.run", "linespeed.store.engine", 4),
        Import("linespeed.ingest.core", "linespeed.ramp.milestones", 5),
        Import("linespeed.kpi.counts", "linespeed.api.app", 6),
        Import("linespeed.cli.serve", "linespeed.api.routes", 7),
        Import("linespeed.api.routes", "linespeed.bridges.mqtt", 8),
        Import("linespeed.kpi.counts", "linespeed.trace.recall", 9),
        Import("linespeed.cli.serve", "linespeed.api.server", 10),
        Import("linespeed.cli.mqtt", "linespeed.bridges.mqtt", 11),
        Import("linespeed.api.routes", "linespeed.kpi.report", 12),
    ]
    assert [_report(*each) for each in violations(found)] == [
        "linespeed.store.kpi_view (line 3) imports linespeed.kpi.counts: "
        "[ranks] `store` (rank 5) imports `kpi` (rank 8)",
        "linespeed.store.kpi_view (line 3) imports linespeed.kpi.counts: "
        "[store-kpi] `store` knows nothing of `kpi`",
        "linespeed.sim.run (line 4) imports linespeed.store.engine: "
        "[sim-store] `sim` knows nothing of `store`: it yields events",
        "linespeed.ingest.core (line 5) imports linespeed.ramp.milestones: "
        "[ranks] `ingest` (rank 6) imports `ramp` (rank 8)",
        "linespeed.ingest.core (line 5) imports linespeed.ramp.milestones: "
        "[ingest-ramp] `ingest` imports nothing from `ramp`",
        "linespeed.kpi.counts (line 6) imports linespeed.api.app: "
        "[ranks] `kpi` (rank 8) imports `api` (rank 11)",
        "linespeed.kpi.counts (line 6) imports linespeed.api.app: "
        "[faces] nothing imports the face `api` but `cli` (server and bridges)",
        "linespeed.cli.serve (line 7) imports linespeed.api.routes: "
        "[faces] `cli` imports `api` only to start the server (linespeed.api, .app, .server)",
        "linespeed.api.routes (line 8) imports linespeed.bridges.mqtt: "
        "[faces] nothing imports the face `bridges` but `cli` (server and bridges)",
        "linespeed.kpi.counts (line 9) imports linespeed.trace.recall: "
        "[ranks] `kpi` and `trace` are of one rank and know nothing of each other",
    ]


def test_imports_inside_functions_count(tmp_path: Path) -> None:
    source = tmp_path / "late.py"
    source.write_text(
        "def report():\n    from linespeed.kpi import counts\n    import linespeed.sim.run\n"
    )
    found = [(each.imported, each.line) for each in imports_of(source, "linespeed.store.late")]
    assert found == [("linespeed.kpi.counts", 2), ("linespeed.sim.run", 3)]
