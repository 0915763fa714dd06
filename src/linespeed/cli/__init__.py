"""The `linespeed` command: parse, call the library, print. No logic lives here.

Each module of this package holds the commands of one area; importing them registers them.
"""

from __future__ import annotations

import sys

import linespeed.cli.mqtt  # noqa: F401  (registers the mqtt commands)
from linespeed.cli import events, measure, plant, sim, trace
from linespeed.cli import serve as serve_commands  # noqa: F401  (registers its commands)
from linespeed.cli.common import app, err
from linespeed.errors import LinespeedError

__all__ = ["app", "events", "main", "measure", "plant", "sim", "trace"]


def main() -> None:
    """Entry point of the `linespeed` command: prints linespeed errors and exits 1."""
    try:
        app()
    except LinespeedError as error:
        err.print(f"error: {error.message}")
        sys.exit(1)
