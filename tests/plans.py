"""Query plans as evidence: the queries behind a question read index ranges, not whole tables.

`full_scans` runs a question while recording its SELECTs, then asks the database for each
one's plan: EXPLAIN QUERY PLAN on SQLite; EXPLAIN (FORMAT JSON) on PostgreSQL with
sequential scans made prohibitively expensive, so that a small test table cannot hide a
missing index (the planner still scans when no index can answer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Connection, Engine, event

BIG_TABLES = frozenset(
    {
        "events",
        "units",
        "station_visits",
        "installed_parts",
        "inspections",
        "defects",
        "station_states",
        "stock_moves",
        "stock_pieces",
        "stock_unreceived",
        "stock_consumed",
    }
)
"""Tables that grow with production; a scan of any other table reads a handful of rows."""


def recorded_selects(engine: Engine, question: Callable[[], object]) -> list[tuple[str, Any]]:
    """Every SELECT (or WITH) statement `question()` runs on `engine`, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cursor: Any, statement: str, params: Any, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        question()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def full_scans(
    engine: Engine, question: Callable[[], object], *, seqscan_allowed: bool = False
) -> list[tuple[str, str]]:
    """(table, statement) for each whole-table scan of a big table in `question`'s queries.

    A scan that stops at its first row (`... LIMIT 1`, is the store empty?) is not counted.
    `seqscan_allowed`: PostgreSQL plans as it would in service, from the statistics it has
    (for a store large enough that a scan would cost more than the index).
    """
    statements = recorded_selects(engine, question)
    assert statements, "the question ran no query"
    found: list[tuple[str, str]] = []
    with engine.connect() as connection:
        for statement, params in statements:
            if _reads_one_row(statement):
                continue
            if engine.dialect.name == "sqlite":
                scanned = _sqlite_scans(connection, statement, params)
            else:
                scanned = _postgres_scans(connection, statement, params, seqscan_allowed)
            found.extend((table, statement) for table in scanned)
    return found


def _reads_one_row(statement: str) -> bool:
    # SELECT ... FROM t LIMIT n, with nothing to filter, sort or group: the first row will do.
    words = statement.upper().split()
    return "LIMIT" in words and not {"WHERE", "ORDER", "GROUP", "JOIN"} & set(words)


def _sqlite_scans(connection: Connection, statement: str, params: Any) -> Iterator[str]:
    for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params):
        words = str(row[-1]).split()
        if words[0] == "SCAN" and words[1] in BIG_TABLES:
            yield words[1]


def _postgres_scans(
    connection: Connection, statement: str, params: Any, seqscan_allowed: bool
) -> Iterator[str]:
    with connection.begin():
        if not seqscan_allowed:
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        (plan,) = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", params).one()
    yield from _seq_scanned(plan[0]["Plan"])


def _seq_scanned(node: dict[str, Any]) -> Iterator[str]:
    if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in BIG_TABLES:
        yield node["Relation Name"]
    for child in node.get("Plans", []):
        yield from _seq_scanned(child)


def open_time_ranges(engine: Engine, question: Callable[[], object]) -> list[tuple[str, str]]:
    """(plan line, statement) for each index search of a big table, in `question`'s SQLite
    queries, that bounds a time (`..._at`) on one side only: it reads every row since the
    start of the store (or up to its end), more the longer the plant has run. A search that
    stops at its first row (`... LIMIT 1`) is not counted."""
    assert engine.dialect.name == "sqlite", "reads SQLite's EXPLAIN QUERY PLAN"
    statements = recorded_selects(engine, question)
    assert statements, "the question ran no query"
    found: list[tuple[str, str]] = []
    with engine.connect() as connection:
        for statement, params in statements:
            if "LIMIT" in statement.upper().split():
                continue
            for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params):
                detail = str(row[-1])
                words = detail.split()
                if words[0] == "SEARCH" and words[1] in BIG_TABLES and _one_sided(detail):
                    found.append((detail, statement))
    return found


def _one_sided(detail: str) -> bool:
    """Whether a SEARCH's index condition bounds some `..._at` column on one side only."""
    if "(" not in detail:
        return False
    terms = detail[detail.index("(") + 1 : detail.rindex(")")].split(" AND ")
    bounds: dict[str, set[str]] = {}
    for term in terms:
        for operator, side in (("<", "upper"), (">", "lower")):
            name, _, _ = term.partition(operator)
            if name != term and name.endswith("_at"):
                bounds.setdefault(name, set()).add(side)
    return any(len(sides) == 1 for sides in bounds.values())
