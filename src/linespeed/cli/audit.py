"""`linespeed audit`: the audit log of API writes."""

from __future__ import annotations

from typing import Annotated

import typer

from linespeed.cli.common import (
    DbOption,
    JsonOption,
    PlantOption,
    app,
    out,
    plant_zone,
    print_json,
    store,
    time_text,
)


@app.command()
def audit(
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Entries.")] = 100,
    before_id: Annotated[
        int | None,
        typer.Option("--before-id", min=1, help="Only entries older than this id (next page)."),
    ] = None,
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """The API's write requests, newest first: token, time, action, outcome.

    Example: linespeed audit --limit 1000 --before-id 52001 --json
    """
    from linespeed.access.audit import list_audit

    with store(db, plant) as engine:
        entries = list_audit(engine, limit=limit, before_id=before_id)
        zone = plant_zone(engine)
    if json_output:
        print_json(entries)
        return
    for entry in entries:
        who = "no token" if entry.token_id is None else f"token {entry.token_id}"
        out.print(
            f"#{entry.id} {time_text(entry.at, zone)} {who} {entry.method} {entry.path} "
            f"{entry.status_code} {entry.outcome} {entry.detail}"
        )
