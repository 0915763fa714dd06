"""`linespeed rebuild`: the projections again from the event log."""

from __future__ import annotations

from linespeed.cli.common import (
    DbOption,
    JsonOption,
    app,
    out,
    plural,
    print_json,
)


@app.command()
def rebuild(db: DbOption = None, json_output: JsonOption = False) -> None:
    """Recompute every projection from the event log alone (events are never re-validated).

    Example: linespeed rebuild --db sqlite:///yz1.db
    """
    from linespeed.store.engine import open_store
    from linespeed.store.rebuild import rebuild as rebuild_projections

    replayed = rebuild_projections(open_store(db))
    if json_output:
        print_json({"replayed": replayed})
    else:
        out.print(f"rebuilt projections from {plural(replayed, 'event')}")
