"""Genealogy and recall benchmark on a full-detail simulated store, on SQLite and PostgreSQL.

For each backend it builds (or reuses) a store holding N simulated cars with every station,
part and check (the default scenario, with brake-caliper lots of 10,000 cars), then prints
medians of repeated runs of the questions a quality engineer asks:

- VIN backward trace (`trace.vin_trace`) of random built cars (goal <= 2 ms);
- forward trace of one brake-caliper lot, about 10,000 cars (goal <= 50 ms);
- forward trace of one battery serial (`part_recall(serial=...)`);

and the ingest rate of the first events of the same simulation into an empty store, as a
ratio to raw inserts in the same run (`executemany` on SQLite, `COPY` on PostgreSQL; goal
>= 1.0) of two baselines: every row linespeed stored (events and projections, into the same
schema, unvalidated), and the event rows alone into a plain table.

Run:
    .venv/bin/python bench/trace.py                           # 300,000 cars, both backends
    .venv/bin/python bench/trace.py --cars 20000 --backend sqlite
    .venv/bin/python bench/trace.py --workdir /var/tmp/ls-trace   # build once, reuse later

PostgreSQL runs use --pg-url, else LINESPEED_TEST_PG_URL, else the local server; the
store is a database named after the car count, kept for reuse (`--drop` removes it).
It prints figures only; it never asserts timings.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import msgspec
import psycopg
from sqlalchemy import Connection, Engine, Table, create_engine, func, select, text
from sqlalchemy.engine import make_url

from linespeed.ingest.core import DEFAULT_BATCH_SIZE, Ingestor, RawEvent, batched
from linespeed.plant.model import with_tracking
from linespeed.sim.emit import event_lines
from linespeed.sim.run import simulate
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, LoadedScenario, load_scenario
from linespeed.store.engine import connect, migrate
from linespeed.store.plants import save_plant
from linespeed.store.reads import select_rows
from linespeed.store.schema import PROJECTIONS, events, installed_parts, units
from linespeed.store.settings import init_simulation
from linespeed.store.writes import insert_rows
from linespeed.trace import part_recall, vin_trace
from stores import pg_database, pg_server

LOT_PART = "BRK-2201"
LOT_CARS = 10_000
SERIAL_PART = "BAT-1001"
GOALS_MS = {"vin trace": 2.0, "lot recall": 50.0}
RAW_COLUMNS = "seq, event_id, kind, ts, vin, revision, body"
WRITTEN = (events, *PROJECTIONS)
"""The tables ingest writes, in an order that satisfies their foreign keys."""


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cars", type=int, default=300_000, help="cars in the store")
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql", "both"), default="both", help="where"
    )
    parser.add_argument("--workdir", type=Path, default=Path("bench-data"), help="SQLite files")
    parser.add_argument("--pg-url", default=None, help="PostgreSQL server URL")
    parser.add_argument("--repeat", type=int, default=30, help="runs per question")
    parser.add_argument(
        "--ingest-events", type=int, default=200_000, help="events in the ingest comparison"
    )
    parser.add_argument("--drop", action="store_true", help="drop the PostgreSQL store after")
    return parser.parse_args()


def scenario() -> LoadedScenario:
    """The default scenario with brake-caliper lots of LOT_CARS cars."""
    loaded = load_scenario(DEFAULT_SCENARIO_PATH)
    lots = loaded.scenario.lots.model_copy(
        update={"parts": {**loaded.scenario.lots.parts, LOT_PART: LOT_CARS}}
    )
    return LoadedScenario(
        scenario=loaded.scenario.model_copy(update={"lots": lots}),
        plant=with_tracking(loaded.plant, "stations"),
        source=loaded.source,
    )


def store_urls(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    """(backend, URL) of each store to measure; PostgreSQL databases are created if missing."""
    if args.backend in ("sqlite", "both"):
        args.workdir.mkdir(parents=True, exist_ok=True)
        yield "sqlite", f"sqlite:///{args.workdir / f'trace-{args.cars}.db'}"
    if args.backend in ("postgresql", "both"):
        server = pg_server(args.pg_url)
        url = pg_database(server, f"linespeed_bench_trace_{args.cars}")
        yield "postgresql", url


def build(engine: Engine, loaded: LoadedScenario, cars: int) -> None:
    """Fill the store with `cars` simulated cars, unless it holds them already."""
    migrate(engine)
    with engine.connect() as connection:
        have = connection.execute(select(func.count()).select_from(units)).scalar() or 0
    if have >= cars:
        print(f"  reusing the store: {have:,} cars")
        return
    if have:
        raise SystemExit(f"the store holds {have:,} cars, fewer than {cars:,}: remove it first")
    init_simulation(engine, simulation=True)
    save_plant(engine, loaded.plant, "bench")
    run = simulate(loaded, until_units=cars)
    started = time.perf_counter()
    stored = 0
    ingestor = Ingestor(engine)
    items = (RawEvent(line, "bench") for line in event_lines(run))
    for outcomes in ingestor.ingest_batches(batched(items, DEFAULT_BATCH_SIZE)):
        stored += len(outcomes)
        if stored % 1_000_000 < DEFAULT_BATCH_SIZE:
            rate = stored / (time.perf_counter() - started)
            print(f"  built {stored:,} events ({rate:,.0f} events/s)", flush=True)
    elapsed = time.perf_counter() - started
    print(f"  built: {stored:,} events in {elapsed:,.0f} s ({stored / elapsed:,.0f} events/s)")


def median_ms(question: Callable[[Any], object], inputs: list[Any], repeat: int) -> float:
    """The median wall time of `question(x)` over `repeat` runs cycling through `inputs`."""
    times = []
    for n in range(repeat):
        started = time.perf_counter()
        question(inputs[n % len(inputs)])
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure_questions(engine: Engine, repeat: int) -> dict[str, float]:
    """Median times (ms) of the three trace questions, and the size of the lot recalled."""
    rng = random.Random(1)
    with engine.connect() as connection:
        built = connection.execute(
            select(func.max(units.c.completion_seq)).where(units.c.completion_seq.is_not(None))
        ).scalar_one()
        vins = (
            connection.execute(
                select(units.c.vin).where(
                    units.c.completion_seq.in_([rng.randint(1, built) for _ in range(repeat)])
                )
            )
            .scalars()
            .all()
        )
        serials = (
            connection.execute(
                select(installed_parts.c.serial).where(
                    installed_parts.c.vin.in_(vins), installed_parts.c.part == SERIAL_PART
                )
            )
            .scalars()
            .all()
        )
    lot = f"{LOT_PART}-L00001"
    vin_trace(engine, vins[0])  # warm the connection pool

    def recall_lot(lot: str) -> object:
        return part_recall(engine, LOT_PART, lots=[lot])

    def trace_serial(serial: str) -> object:
        return part_recall(engine, SERIAL_PART, serial=serial)

    figures = {
        "vin trace": median_ms(lambda vin: vin_trace(engine, vin), list(vins), repeat),
        "lot recall": median_ms(recall_lot, [lot], max(5, repeat // 3)),
        "serial trace": median_ms(trace_serial, list(serials), repeat),
    }
    figures["lot cars"] = len(part_recall(engine, LOT_PART, lots=[lot]).cars)
    return figures


def ingest_ratio(backend: str, url: str, loaded: LoadedScenario, count: int) -> dict[str, float]:
    """Events/s of linespeed ingest and of two raw baselines, each in a fresh store.

    Baselines: the event rows alone into a plain table, and every row linespeed stored
    (events and projections) inserted into the same schema, batch by batch, unvalidated.
    """
    lines = list(islice(event_lines(simulate(loaded, until_units=max(200, count // 80))), count))
    engine = _fresh_store(backend, url, "ingest", loaded)
    items = [RawEvent(line, "bench") for line in lines]
    started = time.perf_counter()
    batches = sum(1 for _ in Ingestor(engine).ingest_batches(batched(items, DEFAULT_BATCH_SIZE)))
    linespeed_s = time.perf_counter() - started
    with engine.connect() as connection:
        stored = {table: _rows_of(connection, table) for table in WRITTEN}
    engine.dispose()

    same = _fresh_store(backend, url, "same_rows", loaded)
    started = time.perf_counter()
    for k in range(batches):
        with same.begin() as connection:
            for table, rows in stored.items():
                size = -(-len(rows) // batches)
                insert_rows(connection, table, rows[k * size : (k + 1) * size])
    same_rows_s = time.perf_counter() - started
    same.dispose()

    raw_s = (_raw_sqlite if backend == "sqlite" else _raw_copy)(
        _fresh_url(backend, url, "raw"), lines
    )
    return {
        "events": len(lines),
        "rows": sum(len(rows) for rows in stored.values()),
        "linespeed": len(lines) / linespeed_s,
        "same rows": len(lines) / same_rows_s,
        "events only": len(lines) / raw_s,
    }


def _rows_of(connection: Connection, table: Table) -> list[tuple[Any, ...]]:
    columns = ", ".join(f'"{column.name}"' for column in table.columns)
    return [tuple(row) for row in select_rows(connection, f"SELECT {columns} FROM {table.name}")]


def _fresh_store(backend: str, url: str, name: str, loaded: LoadedScenario) -> Engine:
    engine = connect(_fresh_url(backend, url, name))
    migrate(engine)
    init_simulation(engine, simulation=True)
    save_plant(engine, loaded.plant, "bench")
    return engine


def _fresh_url(backend: str, url: str, name: str) -> str:
    if backend == "sqlite":
        path = Path(make_url(url).database or "").with_name(f"{name}.db")
        for leftover in path.parent.glob(f"{name}.db*"):
            leftover.unlink()
        return f"sqlite:///{path}"
    schema = f"bench_{name}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    return (
        make_url(url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(False)
    )


def _raw_rows(lines: list[bytes]) -> Iterator[list[tuple[Any, ...]]]:
    decoder = msgspec.json.Decoder()
    batch: list[tuple[Any, ...]] = []
    for seq, line in enumerate(lines, 1):
        event = decoder.decode(line)
        row = (seq, event["id"], event["kind"], event["ts"], event.get("vin"), 1, line.decode())
        batch.append(row)
        if len(batch) == DEFAULT_BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def _raw_sqlite(url: str, lines: list[bytes]) -> float:
    connection = sqlite3.connect(make_url(url).database or "", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY, event_id TEXT UNIQUE, kind TEXT,"
        " ts TEXT, vin TEXT, revision INTEGER, body TEXT)"
    )
    connection.execute("CREATE INDEX events_vin ON events (vin)")
    started = time.perf_counter()
    for rows in _raw_rows(lines):
        connection.execute("BEGIN")
        connection.executemany(f"INSERT INTO events ({RAW_COLUMNS}) VALUES (?,?,?,?,?,?,?)", rows)
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def _raw_copy(url: str, lines: list[bytes]) -> float:
    parsed = make_url(url)
    conninfo = parsed.set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(conninfo) as connection:
        connection.execute(
            "CREATE TABLE events (seq bigint PRIMARY KEY, event_id varchar(128) UNIQUE,"
            " kind varchar(32), ts timestamptz, vin varchar(17), revision int, body text)"
        )
        connection.execute("CREATE INDEX events_vin ON events (vin)")
        connection.commit()
        started = time.perf_counter()
        for rows in _raw_rows(lines):
            with (
                connection.cursor() as cursor,
                cursor.copy(f"COPY events ({RAW_COLUMNS}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            connection.commit()
        return time.perf_counter() - started


def main() -> None:
    """Build or reuse each store, then print the figures."""
    args = parse_args()
    loaded = scenario()
    for backend, url in store_urls(args):
        print(f"== {backend}: {args.cars:,} cars, full detail")
        engine = connect(url)
        build(engine, loaded, args.cars)
        figures = measure_questions(engine, args.repeat)
        engine.dispose()
        for name in ("vin trace", "lot recall", "serial trace"):
            goal = f" (goal <= {GOALS_MS[name]:g} ms)" if name in GOALS_MS else ""
            print(f"  {name}: median {figures[name]:.2f} ms{goal}")
        print(f"  lot recalled: {figures['lot cars']:,.0f} cars")
        ingest = ingest_ratio(backend, url, loaded, args.ingest_events)
        raw = "executemany" if backend == "sqlite" else "COPY"
        print(
            f"  ingest of {ingest['events']:,.0f} events ({ingest['rows']:,.0f} rows stored):"
            f" linespeed {ingest['linespeed']:,.0f} events/s"
        )
        for baseline in ("same rows", "events only"):
            print(
                f"    raw {raw}, {baseline}: {ingest[baseline]:,.0f} events/s;"
                f" ratio {ingest['linespeed'] / ingest[baseline]:.2f} (goal >= 1.0)"
            )
        if backend == "postgresql" and args.drop:
            admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE "{make_url(url).database}"'))
            admin.dispose()


if __name__ == "__main__":
    main()
