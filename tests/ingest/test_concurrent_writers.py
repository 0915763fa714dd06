"""Several processes ingesting into one store at once: no duplicate, no gap, no shared number."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from linespeed.events.codec import encode_event
from linespeed.plant.model import Plant
from linespeed.sim.example import ExampleSettings, example_events
from linespeed.store.rebuild import rebuild
from linespeed.store.schema import events, units
from tests.conftest import snapshot

LINESPEED = str(Path(sys.executable).parent / "linespeed")
WRITERS = 3
CARS_EACH = 20


@pytest.mark.slow
def test_writers_in_parallel_store_each_event_once_with_gapless_numbers(
    db_url: str, engine: Engine, plant: Plant, tmp_path: Path
) -> None:
    streams = [
        [
            encode_event(event)
            for event in example_events(
                plant,
                ExampleSettings(
                    cars=CARS_EACH, first_number=1 + k * CARS_EACH, id_prefix=f"w{k}", seed=k
                ),
            )
        ]
        for k in range(WRITERS)
    ]
    # Each writer also sends the first writer's opening events: they race to store them.
    shared = streams[0][:200]
    paths = []
    for k, stream in enumerate(streams):
        path = tmp_path / f"writer-{k}.jsonl"
        path.write_bytes(b"\n".join((shared if k else []) + stream) + b"\n")
        paths.append(path)
    unique = {json.loads(line)["id"] for stream in streams for line in stream}

    env = {**os.environ, "LINESPEED_DB": db_url}
    writers = [
        subprocess.Popen(
            [LINESPEED, "ingest", "--json", "--batch-size", "40", str(path)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for path in paths
    ]
    reports = [json.loads(writer.communicate(timeout=240)[0]) for writer in writers]

    assert [writer.returncode for writer in writers] == [0] * WRITERS
    assert sum(report["rejected"] for report in reports) == 0, reports
    assert sum(report["accepted"] for report in reports) == len(unique)
    assert sum(report["duplicates"] for report in reports) == len(shared) * (WRITERS - 1)
    with engine.connect() as connection:
        stored = connection.execute(select(events.c.seq, events.c.event_id)).all()
        cars = connection.execute(select(units.c.start_seq, units.c.completion_seq)).all()
    assert sorted(seq for seq, _ in stored) == list(range(1, len(unique) + 1))
    assert sorted(event_id for _, event_id in stored) == sorted(unique)
    assert sorted(start for start, _ in cars) == list(range(1, WRITERS * CARS_EACH + 1))
    completions = sorted(done for _, done in cars if done is not None)
    assert completions == list(range(1, len(completions) + 1))
    assert completions

    before = snapshot(engine)
    rebuild(engine)
    assert snapshot(engine) == before
