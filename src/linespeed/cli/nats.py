"""The `nats` commands: `nats setup`, a plant's (or headquarters') stream, and `nats ingest`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from linespeed.cli.choices import (
    DEFAULT_ACK_WAIT_S,
    DEFAULT_BATCH_SIZE,
    DEFAULT_DUPLICATE_WINDOW_S,
    DEFAULT_MAX_FUTURE_S,
    DEFAULT_MAX_PAYLOAD_BYTES,
)
from linespeed.cli.common import (
    DEFAULT_MAX_AGE_DAYS,
    DbOption,
    JsonOption,
    LogFormatOption,
    MaxAgeOption,
    MaxFutureOption,
    app,
    bridge_counts,
    bridge_process,
    err,
    live_window,
    out,
    print_json,
    required_url,
    status_line,
)
from linespeed.cli.errors import CliUsageError
from linespeed.cli.mqtt import MetricsHostOption, MetricsPortOption, start_metrics

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from linespeed.bridges.nats import NatsReport

nats_app = typer.Typer(
    help="Events in over NATS JetStream: `linespeed nats setup`, then `linespeed nats ingest`."
)
app.add_typer(nats_app, name="nats")

ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        help="NATS server URL: nats://[USER@]HOST:PORT; default LINESPEED_NATS_URL. The"
        " password: LINESPEED_NATS_PASSWORD_FILE.",
        show_default=False,
    ),
]
HqOption = Annotated[
    bool,
    typer.Option(
        "--hq", help="At headquarters: LS_HQ, sourcing each plant's stream from its domain."
    ),
]
ReplicasOption = Annotated[
    int,
    typer.Option(
        "--replicas", min=1, max=5, help="Replicas of a stream made now (3 in a cluster)."
    ),
]


@nats_app.command("setup")
def nats_setup(
    plant: Annotated[
        list[str],
        typer.Option(
            "--plant", help="Plant id (repeat with --hq for each plant headquarters sources)."
        ),
    ],
    server: ServerOption = None,
    hq: HqOption = False,
    replicas: ReplicasOption = 1,
    duplicate_window_s: Annotated[
        float,
        typer.Option(
            "--duplicate-window-s", min=1, help="How long JetStream drops repeated message ids."
        ),
    ] = DEFAULT_DUPLICATE_WINDOW_S,
    json_output: JsonOption = False,
) -> None:
    """Make a plant's stream LS_PLANT (or, with --hq, LS_HQ) if missing; check it if it exists.

    Run it before any device publishes: NATS's MQTT listener acknowledges QoS 1 publishes
    even when no stream captures them. LS_PLANT holds linespeed.v1.PLANT.> (file storage,
    duplicate window); LS_HQ holds no subjects and sources each LS_PLANT through
    $JS.PLANT.API. A stream that exists with other subjects is an error, and is left as it is.

    Example: linespeed nats setup --server nats://127.0.0.1:4222 --plant yz1
    """
    from linespeed.natsio.streams import StreamPlan, set_up_streams

    plan = StreamPlan(tuple(plant), hq=hq, replicas=replicas, duplicate_window_s=duplicate_window_s)
    if not hq and len(plan.plants) > 1:
        err.print("note: one stream per plant; each plant's server should hold only its own")
    states = set_up_streams(_server(server), plan)
    if json_output:
        print_json(
            [
                {
                    "stream": state.name,
                    "created": state.created,
                    "subjects": list(state.subjects),
                    "sources": list(state.sources),
                    "replicas": state.replicas,
                    "messages": state.messages,
                }
                for state in states
            ]
        )
        return
    for state in states:
        holds = (
            f"subjects {', '.join(state.subjects)}"
            if state.subjects
            else f"sources {', '.join(state.sources)}"
        )
        out.print(
            f"{state.name}: {'created' if state.created else 'exists'}, {holds},"
            f" R{state.replicas}, {state.messages} messages"
        )


@nats_app.command("ingest")
def nats_ingest(
    server: ServerOption = None,
    plant: Annotated[
        list[str] | None,
        typer.Option(
            "--plant",
            help="Plant whose events to read (default: the store's; repeatable). Events of a"
            " plant the store does not hold go to dead letters.",
        ),
    ] = None,
    hq: HqOption = False,
    durable: Annotated[
        str | None,
        typer.Option(
            "--durable", help="Durable consumer name (linespeed-PLANT); shared by standbys."
        ),
    ] = None,
    replicas: ReplicasOption = 1,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Most messages per transaction.")
    ] = DEFAULT_BATCH_SIZE,
    ack_wait_s: Annotated[
        float,
        typer.Option(
            "--ack-wait-s",
            min=1,
            help="Seconds before JetStream delivers an unacknowledged message again.",
        ),
    ] = DEFAULT_ACK_WAIT_S,
    max_payload_bytes: Annotated[
        int,
        typer.Option("--max-payload-bytes", min=1, help="Refuse bigger messages (dead letters)."),
    ] = DEFAULT_MAX_PAYLOAD_BYTES,
    log_format: LogFormatOption = "text",
    metrics_port: MetricsPortOption = None,
    metrics_host: MetricsHostOption = "127.0.0.1",
    max_future_s: MaxFutureOption = DEFAULT_MAX_FUTURE_S,
    max_age_days: MaxAgeOption = DEFAULT_MAX_AGE_DAYS,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Ingest a plant's JetStream stream into the store until stopped (Ctrl-C or SIGTERM).

    Reads LS_PLANT (LS_HQ with --hq), making it if missing, through a durable pull consumer;
    each batch is committed, then its messages acknowledged; a message whose every event is
    refused is in dead letters and terminated. Redelivered messages count as duplicates. Run
    several on one --durable: one reads, the others take over when it dies. Prints what it
    ingested when it stops.

    Example: linespeed nats ingest --server nats://127.0.0.1:4222
    """
    from linespeed.bridges.nats import NatsBridge, NatsBridgeSettings

    stop = bridge_process(log_format)
    settings = NatsBridgeSettings(
        server=_server(server),
        plants=tuple(plant or ()),
        hq=hq,
        durable=durable,
        replicas=replicas,
        batch_size=batch_size,
        ack_wait_s=ack_wait_s,
        max_payload_bytes=max_payload_bytes,
        live_window=live_window(max_future_s, max_age_days),
    )
    engine = _plant_store(db, tuple(plant or ()))
    bridge = NatsBridge(engine, settings)
    if metrics_port is not None:
        from linespeed.metrics import BridgeNumbers

        def numbers() -> BridgeNumbers:
            return BridgeNumbers(
                messages=bridge.report.messages,
                dead_letters=bridge.report.terminated,
                unacknowledged=bridge.unacknowledged,
                reconnects=bridge.reconnects,
            )

        start_metrics(metrics_host, metrics_port, "nats", engine, numbers)

    def ready(reading: str) -> None:
        err.print(f"reading {reading}; Ctrl-C to stop")

    with status_line(lambda: _counts(bridge.report)):
        report = bridge.run(stop, on_ready=ready)
    if json_output:
        print_json(report.as_dict())
        return
    out.print(_counts(report))
    for reason, count in sorted(report.reasons.items()):
        out.print(f"  {reason}: {count}")


def _plant_store(db: str | None, plants: tuple[str, ...]) -> Engine:
    """The store the events of `plants` go to: the plant's own in a store of several.

    Raises CliUsageError for several plants of a store of several (one process per plant
    writes each plant's tables in parallel), StoreError as `open_plant` does.
    """
    from linespeed.store.plant_stores import open_plant_store, plant_ids

    if len(set(plants)) > 1:
        held = plant_ids(db)
        if len(held) > 1:
            raise CliUsageError(
                f"this store holds plants {', '.join(held)}: run one `nats ingest --plant ID`"
                " per plant (each writes its own plant's tables, beside the others)",
                parameter="--plant",
                value=list(plants),
            )
        return open_plant_store(db, None)
    return open_plant_store(db, plants[0] if plants else None)


def _server(given: str | None) -> str:
    """The NATS server URL: --server, else LINESPEED_NATS_URL, with its password file."""
    from linespeed.environment import nats_url

    return required_url(nats_url(given), "--server", "LINESPEED_NATS_URL")


def _counts(report: NatsReport) -> str:
    return (
        f"{bridge_counts(report)} ({report.terminated} messages terminated,"
        f" {report.redelivered} redelivered)"
    )
