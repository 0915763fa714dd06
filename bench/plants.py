"""Two plants ingesting at once into one PostgreSQL store, against one plant alone.

Part of `bench/nats.py` (issue 17, item 6): both plants' events are published to their own
JetStream streams (`LS_YZ1`, `LS_YZ2`) on one server, then

(a) one plant: `linespeed nats ingest --plant yz1` into a new PostgreSQL store holding both
    plants, timed until the store holds every yz1 event;
(b) two plants at once: `nats ingest --plant yz1` and `nats ingest --plant yz2`, two
    processes, into another new store, timed until it holds every event of both.

The ratio is (b)'s events per second over (a)'s (goal >= 1.6): the plants' writers must not
wait for each other. Each store is a schema of its own on the server given, dropped after.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import psutil
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bridged import LINESPEED, stored
from linespeed.natsio.publisher import publish_event_lines
from linespeed.natsio.streams import StreamPlan, set_up_streams
from linespeed.plant.load import DEFAULT_PLANT_PATH
from linespeed.sim.emit import event_lines
from linespeed.sim.run import simulate
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, load_scenario
from linespeed.store.plant_stores import every_plant_store

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PLANTS = ("yz1", "yz2")


def second_plant_files(folder: Path) -> tuple[Path, Path]:
    """The plant file of yz2 (the default plant with VIN plant code C) and its scenario."""
    plant_file = folder / "yz2.yaml"
    plant_file.write_text(
        DEFAULT_PLANT_PATH.read_text()
        .replace("plant: yz1", "plant: yz2")
        .replace("plant_code: B", "plant_code: C")
    )
    scenario = [f"plant: {plant_file}"] + [
        line.replace("scenario: yz1-ramp", "scenario: yz2-ramp")
        for line in DEFAULT_SCENARIO_PATH.read_text().splitlines()
        if not line.startswith("plant:")
    ]
    scenario_file = folder / "yz2-scenario.yaml"
    scenario_file.write_text("\n".join(scenario) + "\n")
    return plant_file, scenario_file


def plant_lines(days: float, folder: Path) -> dict[str, list[bytes]]:
    """`days` of each plant's line as event lines, by plant."""
    _, scenario_file = second_plant_files(folder)
    return {
        plant: list(event_lines(simulate(load_scenario(path), days=days)))
        for plant, path in (("yz1", DEFAULT_SCENARIO_PATH), ("yz2", scenario_file))
    }


@contextmanager
def postgres_store(server_url: str, plant_file: Path) -> Iterator[str]:
    """A new simulation store holding yz1 and yz2 in a new schema; dropped after."""
    schema = f"bench_plants_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
    db_url = url.render_as_string(hide_password=False)
    try:
        for args in (["--simulation"], ["--plant", str(plant_file)]):
            subprocess.run(
                [LINESPEED, "init", *args, "--db", db_url], check=True, capture_output=True
            )
        yield db_url
    finally:
        with admin.connect() as connection:
            for name in (schema, *(f"{schema}__{plant}" for plant in PLANTS)):
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()


def publish(lines: dict[str, list[bytes]], nats_url: str) -> None:
    """Each plant's lines into its own stream on the server at `nats_url`."""
    set_up_streams(nats_url, StreamPlan(tuple(lines)))
    for plant, plant_events in lines.items():
        assert publish_event_lines(plant_events, nats_url, plant).published == len(plant_events)


def _ingest_command(nats_url: str, plant: str, durable: str) -> list[str]:
    options = ["--durable", durable, "--max-age-days", "0"]
    return [LINESPEED, "nats", "ingest", "--server", nats_url, "--plant", plant, *options]


def ingest_rate(
    plants: Sequence[str], wanted: dict[str, int], db_url: str, nats_url: str, name: str
) -> tuple[float, float]:
    """(events stored per second, per CPU-second of the ingests) with one `nats ingest`
    process per plant of `plants`, all at once, until each plant holds `wanted[plant]`."""
    processes = [
        subprocess.Popen(
            _ingest_command(nats_url, plant, f"{name}-{plant}"),
            env={**os.environ, "LINESPEED_DB": db_url},
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
        )
        for plant in plants
    ]
    try:
        for process in processes:
            assert process.stderr is not None
            if not process.stderr.readline().startswith(b"reading "):
                raise SystemExit("a NATS ingest did not start")
        watched = [psutil.Process(process.pid) for process in processes]
        began = time.perf_counter()
        cpu = sum(sum(one.cpu_times()[:2]) for one in watched)
        with every_plant_store(db_url, tuple(plants)) as engines:
            waiting = dict(engines)
            while waiting:
                waiting = {
                    plant: engine
                    for plant, engine in waiting.items()
                    if stored(engine) < wanted[plant]
                }
                time.sleep(0.02)
        seconds = time.perf_counter() - began
        cpu_s = sum(sum(one.cpu_times()[:2]) for one in watched) - cpu
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
    total = sum(wanted[plant] for plant in plants)
    return total / seconds, total / max(cpu_s, 1e-9)


def two_plants_figures(
    lines: dict[str, list[bytes]], nats_url: str, pg_url: str, folder: Path, repeat: int
) -> dict[str, float]:
    """The best of `repeat` runs of one plant alone and of two plants at once, and their
    ratio, as figures; the lines must be published on `nats_url` already."""
    plant_file, _ = second_plant_files(folder)
    wanted = {plant: len(plant_events) for plant, plant_events in lines.items()}
    one: list[tuple[float, float]] = []
    two: list[tuple[float, float]] = []
    for run in range(max(1, repeat)):
        with postgres_store(pg_url, plant_file) as db_url:
            one.append(ingest_rate(("yz1",), wanted, db_url, nats_url, f"one-{run}"))
        with postgres_store(pg_url, plant_file) as db_url:
            two.append(ingest_rate(PLANTS, wanted, db_url, nats_url, f"two-{run}"))
    one_rate, two_rate = max(rate for rate, _ in one), max(rate for rate, _ in two)
    return {
        "one_plant_events_per_s": round(one_rate),
        "one_plant_events_per_cpu_s": round(max(cpu for _, cpu in one)),
        "two_plants_events_per_s": round(two_rate),
        "two_plants_events_per_cpu_s": round(max(cpu for _, cpu in two)),
        "ratio_two_plants_to_one": round(two_rate / one_rate, 3),
    }
