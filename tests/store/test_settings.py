"""A store remembers whether it is a simulation store; only an empty store can become one."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from linespeed.events.codec import encode_event
from linespeed.ingest.core import Ingestor, RawEvent
from linespeed.plant.model import Plant
from linespeed.sim.example import ExampleSettings, example_events
from linespeed.store.engine import MIGRATIONS_DIR, connect, migrate
from linespeed.store.plants import save_plant
from linespeed.store.settings import (
    NotSimulationStoreError,
    init_simulation,
    is_simulation,
    require_simulation,
)
from tests.conftest import make_store


def _is_simulation(engine: Engine) -> bool:
    with engine.connect() as connection:
        return is_simulation(connection)


def _store_events(engine: Engine, plant: Plant) -> None:
    stream = example_events(plant, ExampleSettings(cars=1))
    batch = [RawEvent(encode_event(event), "test") for event in stream]
    assert {o.status for o in Ingestor(engine).ingest(batch)} == {"accepted"}


def test_a_new_store_is_a_real_store_unless_made_a_simulation(db_url: str, plant: Plant) -> None:
    real = make_store(db_url, plant)
    assert _is_simulation(real) is False
    with pytest.raises(NotSimulationStoreError, match="init --simulation") as raised:
        require_simulation(real)
    assert raised.value.code == "store.not_simulation"
    real.dispose()


def test_a_simulation_store_stays_one(memory_engine: Engine) -> None:
    assert init_simulation(memory_engine, simulation=True) is True
    assert init_simulation(memory_engine, simulation=False) is True
    assert init_simulation(memory_engine, simulation=True) is True
    assert _is_simulation(memory_engine) is True
    require_simulation(memory_engine)


def test_a_real_store_holding_events_cannot_become_a_simulation(
    memory_engine: Engine, plant: Plant
) -> None:
    _store_events(memory_engine, plant)
    with pytest.raises(NotSimulationStoreError, match="holds events") as raised:
        init_simulation(memory_engine, simulation=True)
    assert raised.value.code == "store.not_simulation"
    assert init_simulation(memory_engine, simulation=False) is False
    assert _is_simulation(memory_engine) is False


def test_a_store_from_before_the_setting_is_a_real_store(db_url: str, plant: Plant) -> None:
    engine = connect(db_url)
    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
    save_plant(engine, plant, "default.yaml")
    migrate(engine)
    assert _is_simulation(engine) is False
    with pytest.raises(NotSimulationStoreError):
        require_simulation(engine)
    engine.dispose()
