"""`linespeed plants`: the plants a store holds."""

from __future__ import annotations

from linespeed.cli.common import DbOption, JsonOption, app, out, print_json, time_text


@app.command()
def plants(db: DbOption = None, json_output: JsonOption = False) -> None:
    """The plants of the store: where each one's tables are, its events and cars.

    Each plant numbers its events, starts and completions from 1 without gaps; add one with
    `linespeed init --plant FILE`, ask one with `--plant ID`.

    Example: linespeed plants --db postgresql+psycopg://linespeed@db/company --json
    """
    from rich.table import Table

    from linespeed.store.plant_stores import list_plants

    entries = list_plants(db)
    if json_output:
        print_json(entries)
        return
    table = Table(
        "plant",
        "name",
        "time zone",
        "location",
        "revision",
        "events",
        "started",
        "completed",
        "last event",
    )
    for entry in entries:
        table.add_row(
            entry.plant,
            entry.name,
            entry.timezone,
            entry.location,
            str(entry.revision),
            f"{entry.events:,}",
            f"{entry.cars_started:,}",
            f"{entry.cars_completed:,}",
            time_text(entry.last_event_at, entry.timezone),
        )
    out.print(table)
