"""`nats ingest --plant ID` into a store of several plants: each plant's events to its tables."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from linespeed.natsio.publisher import publish_event_lines
from linespeed.natsio.streams import StreamPlan, set_up_streams
from linespeed.natsio.subjects import stream_name
from linespeed.plant.model import Plant
from linespeed.store.plant_stores import plant_store_for
from linespeed.store.plants import save_plant
from tests.conftest import make_store
from tests.natsio.cleanup import remove_streams
from tests.natsio.conftest import LINESPEED, line_events, stored_count, wait_until

pytestmark = [pytest.mark.service]


@pytest.fixture
def two_plants(own_plant: Plant) -> tuple[Plant, Plant]:
    """Two plants of their own ids (each stream this test's alone)."""
    return own_plant, own_plant.model_copy(update={"plant": f"t{uuid.uuid4().hex[:10]}"})


@pytest.fixture
def plant_stores(db_url: str, two_plants: tuple[Plant, Plant]) -> Iterator[tuple[Engine, Engine]]:
    """A simulation store holding both plants: (the first's store, the second's)."""
    first, second = two_plants
    home = make_store(db_url, first, simulation=True)
    other = plant_store_for(home, second, simulation=True)
    save_plant(other, second, "second.yaml")
    yield home, other
    other.dispose()
    home.dispose()


@pytest.fixture
def streams(nats_url: str, two_plants: tuple[Plant, Plant]) -> Iterator[None]:
    """Both plants' streams; deleted at the end with their consumers and leases."""
    names = [stream_name(plant.plant) for plant in two_plants]
    set_up_streams(nats_url, StreamPlan(tuple(plant.plant for plant in two_plants)))
    yield
    remove_streams(nats_url, *names)


def test_an_ingest_of_one_plant_writes_that_plant_s_tables_alone(
    nats_url: str,
    db_url: str,
    two_plants: tuple[Plant, Plant],
    plant_stores: tuple[Engine, Engine],
    streams: None,
) -> None:
    second = two_plants[1]
    first_store, second_store = plant_stores
    lines = line_events(1)
    assert publish_event_lines(lines, nats_url, second.plant).published == len(lines)
    options = ["--plant", second.plant, "--max-age-days", "0", "--json"]
    ingest = subprocess.Popen(
        [LINESPEED, "nats", "ingest", "--server", nats_url, *options],
        env={**os.environ, "LINESPEED_DB": db_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: stored_count(second_store) == len(lines), 60.0, "every event stored")
    finally:
        ingest.send_signal(signal.SIGTERM)
        out, err = ingest.communicate(timeout=30)
    assert ingest.returncode == 0, err
    assert stored_count(first_store) == 0
    assert b'"accepted": %d' % len(lines) in out


def test_one_ingest_for_several_plants_of_a_store_of_several_is_refused(
    nats_url: str, db_url: str, two_plants: tuple[Plant, Plant], plant_stores: object
) -> None:
    plants = [arg for plant in two_plants for arg in ("--plant", plant.plant)]
    refused = subprocess.run(
        [LINESPEED, "nats", "ingest", "--server", nats_url, *plants],
        env={**os.environ, "LINESPEED_DB": db_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert "run one `nats ingest --plant ID` per plant" in refused.stderr
    unnamed = subprocess.run(
        [LINESPEED, "nats", "ingest", "--server", nats_url],
        env={**os.environ, "LINESPEED_DB": db_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unnamed.returncode == 1
    assert "name one with --plant" in unnamed.stderr
