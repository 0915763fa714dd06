"""`linespeed serve`: the HTTP API and the dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from linespeed.cli.choices import DEFAULT_MAX_FUTURE_S
from linespeed.cli.common import (
    DEFAULT_MAX_AGE_DAYS,
    DbOption,
    LogFormatOption,
    MaxAgeOption,
    MaxFutureOption,
    PlantOption,
    app,
    live_window,
    open_plant,
    out,
)
from linespeed.cli.errors import CliUsageError


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
    tls_cert: Annotated[
        Path | None,
        typer.Option("--tls-cert", help="Serve HTTPS with this certificate (chain, PEM)."),
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--tls-key", help="With --tls-cert: its private key (PEM).")
    ] = None,
    metrics_token_required: Annotated[
        bool,
        typer.Option(
            "--metrics-token-required",
            envvar="LINESPEED_METRICS_TOKEN_REQUIRED",
            help="Answer /metrics only with a token of any role (default: Prometheus scrapes"
            " it without one; it holds counts, not plant data).",
        ),
    ] = False,
    log_format: LogFormatOption = "text",
    plant: PlantOption = None,
    db: DbOption = None,
) -> None:
    """Serve the HTTP API (/api/v1) and the line's dashboard (/) over the database.

    Example: linespeed serve --host 0.0.0.0 --port 8400 --tokenless-rate 1
    """
    from linespeed.api import ApiSettings
    from linespeed.api.server import TlsFiles
    from linespeed.api.server import serve as run_server
    from linespeed.logs import configure_logging

    if (tls_cert is None) != (tls_key is None):
        raise CliUsageError("give --tls-cert and --tls-key together", parameter="--tls-cert")
    tls = None if tls_cert is None or tls_key is None else TlsFiles(tls_cert, tls_key)
    configure_logging(log_format)
    engine = open_plant(db, plant)
    scheme = "http" if tls is None else "https"
    out.print(
        f"linespeed on {scheme}://{host}:{port}/ : dashboard at /#token=<viewer token>, "
        f"API at /api/v1 (OpenAPI /api/v1/openapi.json), metrics at /metrics; Ctrl-C stops"
    )
    settings = ApiSettings(
        max_body_bytes=int(max_body_mb * 1024 * 1024),
        tokenless_burst=tokenless_burst,
        tokenless_per_s=tokenless_rate,
        max_streams=max_streams,
        max_streams_per_token=max_streams_per_token,
        live_window=live_window(max_future_s, max_age_days),
        metrics_token_required=metrics_token_required,
    )
    run_server(engine, host, port, settings, tls)
