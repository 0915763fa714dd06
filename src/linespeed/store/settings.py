"""Settings of a store as a whole, kept in `store_settings`: whether it is a simulation store.

A simulation store is made by `linespeed init --simulation` while it holds no events, and stays
one. Only a simulation store accepts events marked `"simulated": true`; a store without the
setting (also one created before the setting existed) is a real plant's store.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import Connection, Engine, select

from linespeed.errors import StoreError
from linespeed.store.engine import write_transaction
from linespeed.store.schema import events, store_settings

SIMULATION: Final = "simulation"
"""The key of the setting that marks a simulation store (value "true")."""


class NotSimulationStoreError(StoreError):
    """Simulated events were meant for a store that is a real plant's store."""

    code = "store.not_simulation"


def is_simulation(connection: Connection) -> bool:
    """Whether the store was created as a simulation store (`linespeed init --simulation`)."""
    value = connection.execute(
        select(store_settings.c.value).where(store_settings.c.key == SIMULATION)
    ).scalar()
    return value == "true"


def init_simulation(engine: Engine, *, simulation: bool) -> bool:
    """Make the store a simulation store if `simulation` is set; returns whether it is one.

    Without `simulation` nothing changes: a simulation store stays one. Raises
    NotSimulationStoreError if `simulation` is set and the store is a real store that already
    holds events (they cannot be told from simulated ones, nor deleted).
    """
    with write_transaction(engine) as connection:
        current = is_simulation(connection)
        if current or not simulation:
            return current
        held = connection.execute(select(events.c.seq).limit(1)).first()
        if held is not None:
            raise NotSimulationStoreError(
                f"database {_shown(engine)} is a real plant's store and holds events: it cannot "
                "become a simulation store; give `linespeed init --simulation` a new database"
            )
        connection.execute(store_settings.insert().values(key=SIMULATION, value="true"))
    return True


def require_simulation(engine: Engine) -> None:
    """Check that simulated events may go into the store, before any is made.

    Raises NotSimulationStoreError if the store was not created with `init --simulation`.
    """
    with engine.connect() as connection:
        simulation = is_simulation(connection)
    if not simulation:
        raise NotSimulationStoreError(
            f"database {_shown(engine)} is not a simulation store: it would refuse every "
            "simulated event (event.simulated). Create one for simulated data with "
            "`linespeed init --simulation --db URL`"
        )


def _shown(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
