"""What every `linespeed` command shares: the app, consoles, common options, output helpers."""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Protocol
from zoneinfo import ZoneInfo

import typer
from rich.console import Console, ConsoleDimensions

from linespeed.cli.choices import LogFormat
from linespeed.cli.errors import CliUsageError
from linespeed.errors import InputError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from linespeed.ingest.core import LiveWindow

app = typer.Typer(
    name="linespeed",
    help="Production tracking and ramp-up for EV assembly plants.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

PIPE_WIDTH: Final = 100_000
"""Columns given to output that is not a terminal: a pipe or file gets every cell whole."""


class PlainConsole(Console):
    """A console without markup whose tables, written to a pipe or a file, are never cut.

    On a terminal, tables fit its width; elsewhere the width is PIPE_WIDTH, so that
    `linespeed trace vin VIN | less` shows every serial whole.
    """

    def __init__(self, *, stderr: bool = False) -> None:
        # No markup: VINs, payloads and file names from users are printed as they are.
        super().__init__(stderr=stderr, highlight=False, markup=False, soft_wrap=True)

    @property
    def size(self) -> ConsoleDimensions:
        """The terminal's size, or PIPE_WIDTH columns when output goes elsewhere."""
        size = super().size
        return size if self.is_terminal else ConsoleDimensions(PIPE_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


out = PlainConsole()
err = PlainConsole(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (default LINESPEED_DB, else sqlite:///linespeed.db); the password:"
        " LINESPEED_DB_PASSWORD_FILE.",
        show_default=False,
    ),
]
PlantOption = Annotated[
    str | None,
    typer.Option(
        "--plant",
        envvar="LINESPEED_PLANT",
        help="The plant to ask, in a store of several (`linespeed plants`).",
        show_default=False,
    ),
]
CaFileOption = Annotated[
    Path | None,
    typer.Option(
        "--ca-file",
        help="With mqtts://: trust this certificate authority (PEM) instead of the system's.",
    ),
]
CertOption = Annotated[
    Path | None,
    typer.Option("--cert", help="With mqtts://: log in with this client certificate (PEM)."),
]
KeyOption = Annotated[
    Path | None,
    typer.Option("--key", help="With --cert: the certificate's private key (PEM)."),
]
LogFormatOption = Annotated[
    LogFormat,
    typer.Option(
        "--log-format",
        envvar="LINESPEED_LOG_FORMAT",
        help="Log lines as text, or as one JSON object per line (for a log collector).",
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
DEFAULT_MAX_AGE_DAYS = 90.0


def required_url(url: str | None, option: str, variable: str) -> str:
    """`url`, which an option or its environment variable gave.

    Raises CliUsageError naming both if neither did.
    """
    if url is None:
        raise CliUsageError(f"give {option} URL or set {variable}", parameter=option)
    return url


def live_window(max_future_s: float, max_age_days: float) -> LiveWindow:
    """The window live events must fall in, from the command's options."""
    from linespeed.ingest.core import LiveWindow

    return LiveWindow(max_future_s, None if max_age_days == 0 else max_age_days * 86400)


@contextmanager
def store(db: str | None, plant: str | None = None) -> Iterator[Engine]:
    """The store named by `--db` (or LINESPEED_DB), of plant `plant` if given, closed when
    the command is done.

    Raises StoreError if it cannot be opened (see `open_store`), holds several plants and
    none is named, or holds no plant `plant`.
    """
    from linespeed.store.plant_stores import plant_store

    with plant_store(db, plant) as engine:
        yield engine


def open_plant(db: str | None, plant: str | None) -> Engine:
    """The store named by `--db` of plant `plant` (see `store`), for a command that keeps it
    until it exits.

    Raises StoreError as `store` does.
    """
    from linespeed.store.plant_stores import open_plant_store

    return open_plant_store(db, plant)


def print_json(value: Any) -> None:
    """Print `value` as indented JSON on standard output."""
    import msgspec

    sys.stdout.write(json.dumps(msgspec.to_builtins(value), indent=2, ensure_ascii=False) + "\n")


def time_text(value: datetime | None, zone: str | None = None) -> str:
    """A timestamp for people, in the zone given (the plant's; UTC if None); empty for None."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(zone)) if zone else value
    return local.isoformat(sep=" ", timespec="seconds")


@contextmanager
def progress_counter(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on standard error (when it is a terminal); yields `advance(n)`."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

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


@contextmanager
def progress_of(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on standard error (when it is a terminal) for work that reports
    (done, in all); yields that report's callback."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task(label, total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


class BridgeCounts(Protocol):
    """What a bridge's report counts (`BridgeReport`, `NatsReport`)."""

    messages: int
    accepted: int
    duplicates: int
    rejected: int


def bridge_counts(report: BridgeCounts) -> str:
    """`messages N: accepted A, duplicates D, rejected R`: a bridge's status and summary."""
    return (
        f"messages {report.messages}: accepted {report.accepted}, "
        f"duplicates {report.duplicates}, rejected {report.rejected}"
    )


@contextmanager
def status_line(render: Callable[[], str]) -> Iterator[None]:
    """A line at the bottom of standard error, redrawn twice a second from `render()`, while
    the block runs (only when standard error is a terminal; log lines print above it)."""
    if not err.is_terminal:
        yield
        return
    from rich.live import Live
    from rich.text import Text

    with Live(
        get_renderable=lambda: Text(render()),
        console=err,
        transient=True,
        refresh_per_second=2,
        redirect_stdout=False,
    ):
        yield


@contextmanager
def flag_names(names: Mapping[str, str]) -> Iterator[None]:
    """Report the library's input errors with the command's flags (`from` as `--from`).

    Used as a decorator under `@app.command()`; an error whose message names no parameter
    passes through as it is.
    """
    try:
        yield
    except InputError as error:
        renamed = error.named(names)
        if renamed is error:
            raise
        raise renamed from None


def parse_time(value: str | None, zone: str | None = None) -> datetime | None:
    """A time given on the command line (ISO 8601; the offset is checked where it is used).

    Raises CliUsageError (cli.usage) naming the text if it is not an ISO time; its example
    carries the offset of `zone`, the plant's time zone (UTC if None).
    """
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise CliUsageError(
            f"{value!r} is not an ISO time such as {example_time(zone)}",
            parameter="time",
            value=value,
        ) from None


def example_time(zone: str | None) -> str:
    """Today's local midnight in `zone` (UTC if None) as ISO 8601, for hints to people."""
    now = datetime.now(ZoneInfo(zone) if zone else UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0).isoformat(timespec="minutes")


def plant_zone(engine: Engine) -> str | None:
    """The IANA time zone of the store's newest plant revision; None if it holds no plant."""
    from linespeed.store.plants import current_revision, plant_timezone

    with engine.connect() as connection:
        revision = current_revision(connection)
        return None if revision is None else plant_timezone(connection, revision)


def plural(count: int, noun: str) -> str:
    """`count` with its noun, singular for exactly 1: `1 car`, `2 cars`, `0 cars`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def bridge_process(log_format: LogFormat = "text") -> threading.Event:
    """Set up a long-running bridge command: warnings logged in `log_format`, and an event
    that SIGINT or SIGTERM sets (the bridge stops after the batch it is committing)."""
    from linespeed.logs import configure_logging

    configure_logging(log_format)
    stop = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda _signal, _frame: stop.set())
    return stop
