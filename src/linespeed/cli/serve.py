"""Commands of the HTTP side: `serve`, `token create|list|revoke`, `board`, `audit`."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from linespeed.cli.common import (
    DEFAULT_MAX_AGE_DAYS,
    DEFAULT_MAX_FUTURE_S,
    DbOption,
    JsonOption,
    MaxAgeOption,
    MaxFutureOption,
    app,
    live_window,
    out,
    plant_zone,
    print_json,
    time_text,
)
from linespeed.cli.errors import CliUsageError
from linespeed.store.engine import open_store

token_app = typer.Typer(
    help="API bearer tokens: `token create --role ROLE`, `token list`, `token revoke ID`.",
    no_args_is_help=True,
)
app.add_typer(token_app, name="token")


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8400,
    max_body_mb: Annotated[
        float, typer.Option("--max-body-mb", min=0.001, help="Largest request body, MiB.")
    ] = 16.0,
    tokenless_burst: Annotated[
        int,
        typer.Option(
            "--tokenless-burst",
            min=1,
            envvar="LINESPEED_TOKENLESS_BURST",
            help="Write requests without a valid token one client address may make at once.",
        ),
    ] = 20,
    tokenless_rate: Annotated[
        float,
        typer.Option(
            "--tokenless-rate",
            min=0.001,
            envvar="LINESPEED_TOKENLESS_RATE",
            help="...and then per second (beyond: 429 request.rate_limited).",
        ),
    ] = 5.0,
    max_streams: Annotated[
        int,
        typer.Option(
            "--max-streams",
            min=1,
            envvar="LINESPEED_MAX_STREAMS",
            help="Live-feed streams open at once, in all (beyond: 429 stream.too_many).",
        ),
    ] = 500,
    max_streams_per_token: Annotated[
        int,
        typer.Option(
            "--max-streams-per-token",
            min=1,
            envvar="LINESPEED_MAX_STREAMS_PER_TOKEN",
            help="Live-feed streams one token may hold open.",
        ),
    ] = 10,
    max_future_s: MaxFutureOption = DEFAULT_MAX_FUTURE_S,
    max_age_days: MaxAgeOption = DEFAULT_MAX_AGE_DAYS,
    db: DbOption = None,
) -> None:
    """Serve the HTTP API (/api/v1) and the line's dashboard (/) over the database.

    Example: linespeed serve --host 0.0.0.0 --port 8400 --tokenless-rate 1
    """
    from linespeed.api import ApiSettings
    from linespeed.api.server import serve as run_server

    engine = open_store(db)
    out.print(
        f"linespeed on http://{host}:{port}/ : dashboard at /#token=<viewer token>, "
        f"API at /api/v1 (OpenAPI /api/v1/openapi.json); Ctrl-C stops"
    )
    settings = ApiSettings(
        max_body_bytes=int(max_body_mb * 1024 * 1024),
        tokenless_burst=tokenless_burst,
        tokenless_per_s=tokenless_rate,
        max_streams=max_streams,
        max_streams_per_token=max_streams_per_token,
        live_window=live_window(max_future_s, max_age_days),
    )
    run_server(engine, host, port, settings)


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option("--role", help="viewer, operator, engineer or admin.")],
    station: Annotated[
        list[str] | None,
        typer.Option("--station", help="Operator only: limit posts to this station (repeat)."),
    ] = None,
    label: Annotated[str | None, typer.Option("--label", help="Who or what uses it.")] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Create an API token; its secret is shown this once (only a hash is stored).

    Example: linespeed token create --role operator --station ga-090 --json
    """
    from linespeed.access.tokens import create_token

    created = create_token(open_store(db), role, stations=station or (), label=label)
    if json_output:
        print_json(created)
        return
    limit = f" for stations {', '.join(created.stations)}" if created.stations else ""
    out.print(f"token {created.id} ({created.role}{limit}); keep it, it is not shown again:")
    out.print(created.token)


@token_app.command("list")
def token_list(
    show_all: Annotated[bool, typer.Option("--all", help="Include revoked tokens.")] = False,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """List API tokens (never their secrets): id, role, stations, created, revoked.

    Example: linespeed token list --all --json
    """
    from linespeed.access.tokens import list_tokens

    tokens = list_tokens(open_store(db), include_revoked=show_all)
    if json_output:
        print_json(tokens)
        return
    zone = plant_zone(open_store(db))
    table = Table("id", "role", "stations", "label", "created", "revoked", title="API tokens")
    for token in tokens:
        table.add_row(
            str(token.id),
            token.role,
            ", ".join(token.stations) if token.stations else "all",
            token.label or "",
            time_text(token.created_at, zone),
            time_text(token.revoked_at, zone),
        )
    out.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (from `token list`).")],
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Revoke an API token: it answers 401 from now on.

    Example: linespeed token revoke 3
    """
    from linespeed.access.tokens import revoke_token

    token = revoke_token(open_store(db), token_id)
    if json_output:
        print_json(token)
        return
    revoked_at = time_text(token.revoked_at, plant_zone(open_store(db)))
    out.print(f"token {token.id} ({token.role}) revoked at {revoked_at}")


@app.command()
def board(
    day: Annotated[
        str | None, typer.Option("--day", help="Plant-local day YYYY-MM-DD (default: latest).")
    ] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """The line's board: the day's completions against takt, JPH, WIP, first-pass yield,
    stations, open defects and the countdown to the next milestone car.

    Example: linespeed board --json
    """
    from linespeed.live.board import line_board

    try:
        chosen = None if day is None else date.fromisoformat(day)
    except ValueError:
        raise CliUsageError(
            f"{day!r} is not a day such as 2025-06-30", parameter="--day", value=day
        ) from None
    report = line_board(open_store(db), day=chosen)
    if json_output:
        print_json(report)
        return
    today = report.today
    first_pass_yield = "n/a" if today.units_inspected == 0 else f"{today.first_pass_yield:.1%}"
    out.print(
        f"{report.name} on {today.day}: completed {today.completed} (at takt "
        f"{today.planned_at_takt}), JPH {today.jph:.1f} against takt {today.takt_jph:.1f}, "
        f"WIP {today.wip}, first-pass yield {first_pass_yield}, "
        f"bottleneck {today.bottleneck or '-'}"
    )
    stopped = [s for s in report.stations if s.state not in (None, "running")]
    for station in stopped:
        out.print(f"  {station.station}: {station.state} {station.reason or ''}".rstrip())
    out.print(f"open defects on cars in production: {len(report.open_defects)}")
    countdown = report.countdown
    if countdown.next_milestone is not None:
        planned = countdown.planned_vin or f"start #{countdown.planned_start_seq} (not started)"
        out.print(
            f"next milestone {countdown.next_milestone:,}: {countdown.remaining:,} to go; "
            f"planned car {planned}"
        )


@app.command()
def audit(
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Entries.")] = 100,
    before_id: Annotated[
        int | None,
        typer.Option("--before-id", min=1, help="Only entries older than this id (next page)."),
    ] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """The API's write requests, newest first: token, time, action, outcome.

    Example: linespeed audit --limit 1000 --before-id 52001 --json
    """
    from linespeed.access.audit import list_audit

    entries = list_audit(open_store(db), limit=limit, before_id=before_id)
    if json_output:
        print_json(entries)
        return
    zone = plant_zone(open_store(db))
    for entry in entries:
        who = "no token" if entry.token_id is None else f"token {entry.token_id}"
        out.print(
            f"#{entry.id} {time_text(entry.at, zone)} {who} {entry.method} {entry.path} "
            f"{entry.status_code} {entry.outcome} {entry.detail}"
        )
