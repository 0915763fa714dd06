"""What every `linespeed` command shares: the app, consoles, common options, output helpers."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from sqlalchemy import Engine

from linespeed.errors import LinespeedError
from linespeed.ingest.core import LiveWindow
from linespeed.store.engine import open_store

app = typer.Typer(
    name="linespeed",
    help="Production tracking and ramp-up for EV assembly plants.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
plant_app = typer.Typer(help="Check plant files (master data).", no_args_is_help=True)
vin_app = typer.Typer(help="Check VINs (ISO 3779 / 49 CFR 565).", no_args_is_help=True)
deadletters_app = typer.Typer(
    help="List refused events, or retry them: `linespeed deadletters [--json] [--all]`.",
    invoke_without_command=True,
)
app.add_typer(plant_app, name="plant")
app.add_typer(vin_app, name="vin")
app.add_typer(deadletters_app, name="deadletters")
milestones_app = typer.Typer(
    help="Milestone cars reached so far: `linespeed milestones [--json]`; `milestones plan N`.",
    invoke_without_command=True,
)
app.add_typer(milestones_app, name="milestones")
ramp_app = typer.Typer(
    help="The ramp curve against reference ramps, with forecasts: `linespeed ramp [--json]`;"
    " `ramp forecast --csv FILE --target N` for any series.",
    invoke_without_command=True,
)
app.add_typer(ramp_app, name="ramp")

# No markup: VINs, payloads and file names from users are printed as they are.
out = Console(highlight=False, markup=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="LINESPEED_DB",
        help="Database URL (default sqlite:///linespeed.db).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
MaxFutureOption = Annotated[
    float,
    typer.Option(
        "--max-future-s",
        envvar="LINESPEED_MAX_FUTURE_S",
        min=0,
        max=366 * 86400,
        help="Refuse live events dated more than this many seconds ahead of this clock.",
    ),
]
MaxAgeOption = Annotated[
    float,
    typer.Option(
        "--max-age-days",
        envvar="LINESPEED_MAX_AGE_DAYS",
        min=0,
        max=36500,
        help="Refuse live events older than this many days (0: no limit, to replay a buffer).",
    ),
]
DEFAULT_MAX_FUTURE_S = LiveWindow.max_future_s
DEFAULT_MAX_AGE_DAYS = 90.0


def live_window(max_future_s: float, max_age_days: float) -> LiveWindow:
    """The window live events must fall in, from the command's options."""
    return LiveWindow(max_future_s, None if max_age_days == 0 else max_age_days * 86400)


@contextmanager
def store(db: str | None) -> Iterator[Engine]:
    """The store named by `--db` (or LINESPEED_DB), closed when the command is done.

    Raises StoreError if it cannot be opened (see `open_store`).
    """
    engine = open_store(db)
    try:
        yield engine
    finally:
        engine.dispose()


def print_json(value: Any) -> None:
    """Print `value` as indented JSON on standard output."""
    sys.stdout.write(json.dumps(msgspec.to_builtins(value), indent=2, ensure_ascii=False) + "\n")


def time_text(value: datetime | None, zone: str | None = None) -> str:
    """A timestamp for people, in the zone given (UTC otherwise); empty for None."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(zone)) if zone else value
    return local.isoformat(sep=" ", timespec="seconds")


@contextmanager
def progress_counter(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on standard error (when it is a terminal); yields `advance(n)`."""
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda done: progress.advance(task, done)


def parse_time(value: str | None) -> datetime | None:
    """A time given on the command line (ISO 8601; the offset is checked where it is used).

    Raises LinespeedError (cli.usage) naming the text if it is not an ISO time.
    """
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise LinespeedError(
            f"{value!r} is not an ISO time such as 2025-05-26T00:00+08:00", code="cli.usage"
        ) from None
