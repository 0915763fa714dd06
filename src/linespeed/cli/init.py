"""`linespeed init`: a store and its plant."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from linespeed.cli.choices import Tracking
from linespeed.cli.common import (
    DbOption,
    JsonOption,
    app,
    out,
    print_json,
)


@app.command()
def init(
    plant: Annotated[
        Path | None, typer.Option("--plant", help="Plant file to load (default: bundled plant).")
    ] = None,
    tracking: Annotated[
        Tracking | None,
        typer.Option(
            "--tracking",
            help="Override what the plant's lines report: every station, or units only.",
        ),
    ] = None,
    simulation: Annotated[
        bool,
        typer.Option(
            "--simulation",
            help="Create a simulation store: the only kind that accepts the simulator's events."
            " Refused on a store that already holds events; a simulation store stays one.",
        ),
    ] = False,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Create or migrate the database and load a plant file as a new revision.

    Example: linespeed init --plant plants/yz1.yaml --db sqlite:///yz1.db
    """
    from linespeed.plant.load import DEFAULT_PLANT_PATH, load_plant
    from linespeed.plant.model import with_tracking
    from linespeed.store.engine import connect, db_url_from_env, migrate
    from linespeed.store.plant_stores import (
        home_plant_id,
        migrate_plant_stores,
        plant_store_for,
    )
    from linespeed.store.plants import current_plant, save_plant
    from linespeed.store.settings import init_simulation

    source = plant or DEFAULT_PLANT_PATH
    loaded = load_plant(source)
    if tracking is not None:
        loaded = with_tracking(loaded, tracking)
    home = connect(db_url_from_env(db))
    try:
        migrate(home)
        migrate_plant_stores(home)
        first = home_plant_id(home)
        if plant is None and first is not None and first != loaded.plant:
            # Without a plant file, a store of another plant is migrated, not given the
            # bundled plant as a second one.
            with home.connect() as connection:
                loaded = current_plant(connection)
            if tracking is not None:
                loaded = with_tracking(loaded, tracking)
        engine = plant_store_for(home, loaded, simulation=simulation)
        try:
            is_simulation = init_simulation(engine, simulation=simulation)
            revision, created = save_plant(engine, loaded, str(source))
        finally:
            if engine is not home:
                engine.dispose()
        url = home.url.render_as_string(hide_password=True)
    finally:
        home.dispose()
    result = {
        "database": url,
        "plant": loaded.plant,
        "revision": revision,
        "created": created,
        "simulation": is_simulation,
    }
    if json_output:
        print_json(result)
    else:
        what = "new revision" if created else "unchanged, revision"
        kind = "simulation store, " if is_simulation else ""
        out.print(f"{url}: {kind}plant {loaded.plant} ({what} {revision})")
