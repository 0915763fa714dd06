"""The `linespeed` command: parse, call the library, print. No logic lives here.

One module per command or command group, each declaring its group beside its commands;
importing a module registers it, in the order `--help` lists them:

- `ingest`, `unit`, `rebuild`: events in from files, one car's history, projections rebuilt
- `kpi`: counts, throughput, yield, OEE, downtime and the bottleneck
- `init`, `plant`, `vin`: a store and its plant; plant files and VINs checked
- `simulate`: the line simulator into files, a store or MQTT
- `whatif`: the line engine over many seeds: P10/P50/P90 of when car N is completed
- `twin`: a scenario fitted from the store (`twin calibrate`)
- `serve`, `board`, `audit`, `token`: the HTTP API and dashboard, the board, the audit log, tokens
- `deadletters`: refused events, listed and retried
- `milestones`, `ramp`: milestone cars; the ramp curve and forecasts
- `plan`: the production plan: import, show, list revisions
- `stock`: parts on hand, lots, days of cover and run-out days
- `aftersales`: service bays and fast chargers per region as the fleet grows
- `mqtt`: events in over MQTT
- `trace`: genealogy and recall
- `common`: the app, consoles, shared options and output helpers; `errors`: usage errors
"""

from __future__ import annotations

import sys

# Imported for their commands; the order is the order of `linespeed --help`.
from linespeed.cli import (  # noqa: F401  # isort: skip
    ingest,
    unit,
    rebuild,
    kpi,
    init,
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
    trace,
    token,
)
from linespeed.cli.common import app, err
from linespeed.errors import LinespeedError

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the `linespeed` command: prints linespeed errors and exits 1."""
    try:
        app()
    except LinespeedError as error:
        err.print(f"error: {error.message}")
        sys.exit(1)
