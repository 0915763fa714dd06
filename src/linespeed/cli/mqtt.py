"""The `mqtt` commands: `mqtt ingest`, the bridge from a broker's station topics."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from linespeed.cli.choices import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_FUTURE_S,
    DEFAULT_MAX_PAYLOAD_BYTES,
    DEFAULT_RECEIVE_MAXIMUM,
)
from linespeed.cli.common import (
    DEFAULT_MAX_AGE_DAYS,
    CaFileOption,
    CertOption,
    DbOption,
    JsonOption,
    KeyOption,
    LogFormatOption,
    MaxAgeOption,
    MaxFutureOption,
    app,
    bridge_counts,
    bridge_process,
    err,
    live_window,
    open_plant,
    out,
    print_json,
    required_url,
    status_line,
)
from linespeed.cli.errors import CliUsageError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from linespeed.metrics import BridgeNumbers

MetricsPortOption = Annotated[
    int | None,
    typer.Option(
        "--metrics-port",
        min=0,
        max=65535,
        help="Serve Prometheus metrics at http://HOST:PORT/metrics (0: a free port, printed).",
        show_default=False,
    ),
]
MetricsHostOption = Annotated[
    str, typer.Option("--metrics-host", help="Address the metrics port listens on.")
]

mqtt_app = typer.Typer(help="Events in over MQTT: `linespeed mqtt ingest --broker URL`.")
app.add_typer(mqtt_app, name="mqtt")


@mqtt_app.command("ingest")
def mqtt_ingest(
    broker: Annotated[
        str | None,
        typer.Option(
            "--broker",
            help="Broker URL: mqtt://[USER@]HOST:PORT (mqtts:// for TLS); default"
            " LINESPEED_MQTT_URL. The password: LINESPEED_MQTT_PASSWORD_FILE.",
            show_default=False,
        ),
    ] = None,
    plant: Annotated[
        str | None,
        typer.Option(
            "--plant",
            help="Plant whose topics to bridge (default: the store's); '+' for every plant,"
            " refusing events of plants the store does not hold.",
        ),
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option(
            "--client-id", help="MQTT client id: names the persistent session (linespeed-PLANT)."
        ),
    ] = None,
    max_payload_bytes: Annotated[
        int,
        typer.Option("--max-payload-bytes", min=1, help="Refuse bigger messages (dead letters)."),
    ] = DEFAULT_MAX_PAYLOAD_BYTES,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Most events per transaction.")
    ] = DEFAULT_BATCH_SIZE,
    receive_maximum: Annotated[
        int,
        typer.Option(
            "--receive-maximum",
            min=1,
            max=65535,
            help="Messages taken ahead of acknowledgements (MQTT 5 Receive Maximum;"
            " with MQTT 3.1.1 the bridge stops reading at that many).",
        ),
    ] = DEFAULT_RECEIVE_MAXIMUM,
    ca_file: CaFileOption = None,
    cert: CertOption = None,
    key: KeyOption = None,
    log_format: LogFormatOption = "text",
    metrics_port: MetricsPortOption = None,
    metrics_host: MetricsHostOption = "127.0.0.1",
    max_future_s: MaxFutureOption = DEFAULT_MAX_FUTURE_S,
    max_age_days: MaxAgeOption = DEFAULT_MAX_AGE_DAYS,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Bridge a broker's station topics into the store until stopped (Ctrl-C or SIGTERM).

    Subscribes to linespeed/v1/PLANT/+/+/events with QoS 1 in a persistent session (MQTT 5,
    or 3.1.1 when the broker refuses version 5) and acknowledges each message only after
    its events are committed; refused events go to
    dead letters and to linespeed/v1/PLANT/deadletters (so do events dated outside the live
    window, `ts.out_of_range`: see --max-future-s, --max-age-days); milestone cars are published,
    retained, to linespeed/v1/PLANT/LINE/milestones. Prints what it ingested when it stops.

    Example: linespeed mqtt ingest --broker mqtt://127.0.0.1:1883
    """
    from linespeed.bridges.mqtt import BridgeSettings, MqttBridge
    from linespeed.environment import mqtt_url
    from linespeed.mqtt.broker import TlsFiles, parse_broker_url

    stop = bridge_process(log_format)
    settings = BridgeSettings(
        broker=parse_broker_url(
            required_url(mqtt_url(broker), "--broker", "LINESPEED_MQTT_URL")
        ).with_tls_files(TlsFiles(ca_file, cert, key)),
        plant=plant,
        client_id=client_id,
        max_payload_bytes=max_payload_bytes,
        batch_size=batch_size,
        receive_maximum=receive_maximum,
        live_window=live_window(max_future_s, max_age_days),
    )
    engine = open_plant(db, None if plant == "+" else plant)
    bridge = MqttBridge(engine, settings)
    if metrics_port is not None:
        from linespeed.metrics import BridgeNumbers

        def numbers() -> BridgeNumbers:
            return BridgeNumbers(
                messages=bridge.report.messages,
                dead_letters=bridge.refused_whole,
                unacknowledged=bridge.unacknowledged,
                reconnects=bridge.reconnects,
            )

        start_metrics(metrics_host, metrics_port, "mqtt", engine, numbers)

    def ready(subscription: str) -> None:
        err.print(
            f"bridging {subscription} from {settings.broker} over {bridge.protocol}; Ctrl-C to stop"
        )

    with status_line(lambda: bridge_counts(bridge.report)):
        report = bridge.run(stop, on_ready=ready)
    if json_output:
        print_json(report.as_dict())
        return
    out.print(bridge_counts(report))
    for reason, count in sorted(report.reasons.items()):
        out.print(f"  {reason}: {count}")


def start_metrics(
    host: str, port: int, bridge: str, engine: Engine, numbers: Callable[[], BridgeNumbers]
) -> None:
    """Count this process's ingest as `bridge`'s and serve /metrics on `host`:`port`: the
    ingest counters, the bridge's `numbers()` and its store's lines' ages, read at each scrape.

    Raises CliUsageError if the address cannot be bound.
    """
    from linespeed.metrics import BridgeCollector, LineAgeCollector, start_exporter, watch_ingest

    watch_ingest(bridge)
    try:
        bound = start_exporter(
            host, port, BridgeCollector(bridge, numbers), LineAgeCollector(engine)
        )
    except OSError as error:
        raise CliUsageError(
            f"cannot serve metrics on {host}:{port}: {error.strerror or error}",
            parameter="--metrics-port",
        ) from None
    err.print(f"metrics at http://{host}:{bound}/metrics")
