"""The `linespeed` command: parse, call the library, print. No logic lives here.

One module per command or command group, each declaring its group beside its commands;
importing a module registers it, in the order `--help` lists them:

- `ingest`, `unit`, `rebuild`: events in from files, one car's history, projections rebuilt
- `kpi`: counts, throughput, yield, OEE, downtime and the bottleneck
- `init`, `plants`, `plant`, `vin`: a store and its plants; plant files and VINs checked
- `simulate`: the line simulator into files, a store or MQTT
- `whatif`: the line engine over many seeds: P10/P50/P90 of when car N is completed
- `twin`: a scenario fitted from the store (`twin calibrate`)
- `serve`, `board`, `audit`, `token`: the HTTP API and dashboard, the board, the audit log, tokens
- `backup`: `backup` and `restore`, a SQLite store copied while it runs, and back
- `deadletters`: refused events, listed and retried
- `milestones`, `ramp`: milestone cars; the ramp curve and forecasts
- `plan`: the production plan: import, show, list revisions
- `stock`: parts on hand, lots, days of cover and run-out days
- `aftersales`: service bays and fast chargers per region as the fleet grows
- `mqtt`: events in over MQTT
- `nats`: events in over NATS JetStream: streams set up, ingest
- `trace`: genealogy and recall
- `webhook`: milestones, stations down and part shortages POSTed as signed JSON; the
  delivery log; `webhook run` delivers where no server runs
- `common`: the app, consoles, shared options and output helpers; `errors`: usage errors
- `choices`: the library's choices and defaults that signatures show, copied so that
  `--help` loads no library (each command imports what it needs when it runs)
"""

from __future__ import annotations

import copy
import sys

import typer
from typer.main import get_command_name, get_group

# Imported for their commands; the order is the order of `linespeed --help`.
from linespeed.cli import (  # noqa: F401  # isort: skip
    ingest,
    unit,
    rebuild,
    kpi,
    init,
    plants,
    simulate,
    whatif,
    twin,
    serve,
    board,
    audit,
    plant,
    vin,
    deadletters,
    milestones,
    ramp,
    plan,
    stock,
    aftersales,
    mqtt,
    nats,
    trace,
    webhook,
    token,
    backup,
)
from linespeed.cli.common import app, err
from linespeed.errors import LinespeedError

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the `linespeed` command: prints linespeed errors and exits 1."""
    try:
        get_group(command_app(sys.argv[1:]))()
    except LinespeedError as error:
        err.print(f"error: {error.message}")
        sys.exit(1)


def command_app(args: list[str]) -> typer.Typer:
    """The app cut to the command or group that `args` names first, else the whole app.

    Typer reads the signature of every command it holds before it runs one; holding only the
    command asked for, it starts at once. Run as a group (`typer.main.get_group`), its help
    and errors are the same as the whole app's.
    """
    if not args:
        return app
    commands = [
        command
        for command in app.registered_commands
        if command.callback is not None
        and (command.name or get_command_name(command.callback.__name__)) == args[0]
    ]
    groups = [group for group in app.registered_groups if group.name == args[0]]
    if not commands and not groups:
        return app
    cut = copy.copy(app)
    cut.registered_commands, cut.registered_groups = commands, groups
    return cut
