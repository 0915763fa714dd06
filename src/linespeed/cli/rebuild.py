"""`linespeed rebuild`: the projections again from the event log."""

from __future__ import annotations

from linespeed.cli.common import (
    DbOption,
    JsonOption,
    PlantOption,
    app,
    out,
    plural,
    print_json,
    progress_of,
    store,
)


@app.command()
def rebuild(
    plant: PlantOption = None, db: DbOption = None, json_output: JsonOption = False
) -> None:
    """Recompute every projection from the event log alone (events are never re-validated).

    On a terminal a progress bar shows the events replayed, of how many.

    Example: linespeed rebuild --db sqlite:///yz1.db
    """
    from linespeed.store.rebuild import rebuild as rebuild_projections

    with store(db, plant) as engine, progress_of("rebuild") as progress:
        replayed = rebuild_projections(engine, progress)
    if json_output:
        print_json({"replayed": replayed})
    else:
        out.print(f"rebuilt projections from {plural(replayed, 'event')}")
