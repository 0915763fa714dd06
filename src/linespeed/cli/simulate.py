"""`linespeed simulate`: run the line simulator into files, a store, MQTT or NATS."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from linespeed.cli.choices import Detail
from linespeed.cli.common import (
    CaFileOption,
    CertOption,
    DbOption,
    JsonOption,
    KeyOption,
    app,
    err,
    flag_names,
    open_plant,
    plural,
    print_json,
    progress_counter,
    time_text,
)
from linespeed.cli.errors import CliUsageError
from linespeed.errors import InputFileError


def write_plan_file(path: Path, text: str) -> None:
    """Write a plan file. Raises InputFileError if it cannot be written."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise InputFileError(str(path), f"cannot be written: {error.strerror or error}") from None


@app.command()
@flag_names(
    {"until_units": "--until-units", "days": "--days", "units": "--after-units", "speed": "--speed"}
)
def simulate(
    scenario: Annotated[
        Path | None, typer.Argument(help="Scenario file (default: the bundled scenario).")
    ] = None,
    until_units: Annotated[
        int | None, typer.Option("--until-units", help="Stop when N cars are completed.")
    ] = None,
    days: Annotated[float | None, typer.Option("--days", help="Simulate D days.")] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the events to this JSONL file ('-': stdout)."),
    ] = None,
    into_db: Annotated[
        bool, typer.Option("--into-db", help="Ingest the events into the database.")
    ] = False,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Override the scenario's seed.")
    ] = None,
    detail: Annotated[
        Detail,
        typer.Option(
            "--detail",
            help="full: every event a line sends; units: only unit started/completed/"
            "scrapped/shipped (for lines tracked at unit level).",
        ),
    ] = "full",
    after_units: Annotated[
        int | None,
        typer.Option("--after-units", help="Emit only what happens after car N is completed."),
    ] = None,
    mqtt: Annotated[
        str | None,
        typer.Option(
            "--mqtt",
            help="Publish each event to its station's topic on this broker (mqtt://HOST:PORT)."
            " A bridge into a store not made with `init --simulation` dead-letters them.",
        ),
    ] = None,
    nats: Annotated[
        str | None,
        typer.Option(
            "--nats",
            help="Publish each event to its station's subject on this NATS server's JetStream"
            " (nats://HOST:PORT), acknowledged, its idempotency key as message id; run"
            " `nats setup` first.",
        ),
    ] = None,
    speed: Annotated[
        float,
        typer.Option(
            "--speed",
            min=0,
            help="With --mqtt or --nats: X times real time; 0: as fast as can be.",
        ),
    ] = 1.0,
    ca_file: CaFileOption = None,
    cert: CertOption = None,
    key: KeyOption = None,
    plan_out: Annotated[
        Path | None,
        typer.Option(
            "--plan-out",
            help="Write the scenario's production plan (shift pattern and ramp, from start of"
            " production to the run's last day) to this plan CSV file.",
        ),
    ] = None,
    plant: Annotated[
        str | None,
        typer.Option(
            "--plant",
            help="With --into-db: the plant the scenario simulates, in a store of several"
            " (the scenario's own by default).",
        ),
    ] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Simulate a scenario's line; emit its events in time order to a file, the store or a broker.

    Every event is marked "simulated": true; only a store made with `init --simulation` takes it.
    With --into-db, the scenario's shift pattern and ramp are stored as the plan (a new plan
    revision unless the newest one is the same); --plan-out FILE writes that plan file.

    Example: linespeed simulate --until-units 300000 --into-db
    """
    # imported here: the engine's compiler loads slowly, and only simulate needs it
    from linespeed.environment import masked_url, mqtt_url, nats_url
    from linespeed.ingest.core import Ingestor
    from linespeed.ingest.lines import ingest_lines
    from linespeed.mqtt.broker import TlsFiles, parse_broker_url
    from linespeed.natsio.publisher import publish_event_lines
    from linespeed.natsio.server import parse_server_url
    from linespeed.sim.emit import StreamCounts, counted, event_lines, write_lines
    from linespeed.sim.production_plan import run_plan
    from linespeed.sim.publish import publish_events
    from linespeed.sim.run import require_from_start, start_after
    from linespeed.sim.run import simulate as simulate_run
    from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, load_scenario
    from linespeed.store.settings import require_simulation
    from linespeed.supply.plan import import_plan_unless_same
    from linespeed.supply.plan_file import plan_csv

    outputs = [out is not None, into_db, mqtt is not None, nats is not None].count(True)
    if outputs > 1 or (outputs == 0 and plan_out is None):
        raise CliUsageError(
            "give exactly one of --out FILE and --into-db (or --mqtt URL, --nats URL),"
            " or only --plan-out FILE",
            parameter="--out",
            value=out,
        )
    # The password files of LINESPEED_MQTT_PASSWORD_FILE and LINESPEED_NATS_PASSWORD_FILE
    # complete a URL given; the URL variables alone do not make simulate publish.
    if mqtt is None and (ca_file or cert or key):
        raise CliUsageError("--ca-file, --cert and --key go with --mqtt URL", parameter="--cert")
    broker = None
    if mqtt is not None:
        address = parse_broker_url(mqtt_url(mqtt) or mqtt)
        broker = address.with_tls_files(TlsFiles(ca_file, cert, key))
    nats_server = None if nats is None else nats_url(nats) or nats
    if nats_server is not None:
        parse_server_url(nats_server)
    loaded = load_scenario(scenario or DEFAULT_SCENARIO_PATH)
    require_from_start(loaded)
    if plant is not None and plant != loaded.plant.plant:
        raise CliUsageError(
            f"the scenario simulates plant {loaded.plant.plant!r}, not {plant!r}",
            parameter="--plant",
            value=plant,
        )
    engine = open_plant(db, loaded.plant.plant) if into_db else None
    try:
        if engine is not None:
            require_simulation(engine)
        run = simulate_run(loaded, until_units=until_units, days=days, seed=seed)
        plan_file = plan_csv(run_plan(run))
        if plan_out is not None:
            write_plan_file(plan_out, plan_file)
        counts = StreamCounts()
        ingest = None
        published: dict[str, int | float] | None = None
        after_s = None if after_units is None else start_after(run, after_units)
        lines = counted(event_lines(run, detail=detail, after_s=after_s), counts)
        with progress_counter("simulate", None) as advance:
            if engine is not None:
                report = ingest_lines(
                    Ingestor(engine), lines, f"sim:{loaded.scenario.scenario}", progress=advance
                )
                ingest = report.as_dict()
            elif broker is not None:
                sent = publish_events(
                    lines, broker, loaded.plant.plant, speed=speed, progress=advance
                )
                published = {"events": sent.published, "seconds": round(sent.seconds, 3)}
            elif nats_server is not None:
                sent_nats = publish_event_lines(
                    lines, nats_server, loaded.plant.plant, speed=speed, progress=advance
                )
                published = {
                    "events": sent_nats.published,
                    "seconds": round(sent_nats.seconds, 3),
                }
            elif out is not None:
                write_lines(lines, out, progress=advance)
        stored = None
        if engine is not None:
            stored = import_plan_unless_same(
                engine, plan_file.encode(), f"sim:{loaded.scenario.scenario}"
            )
    finally:
        if engine is not None:
            engine.dispose()
    plan = (
        None
        if stored is None
        else {
            "revision": stored[0].revision,
            "new": stored[1],
            "first_day": stored[0].first_day,
            "last_day": stored[0].last_day,
            "rows": stored[0].rows,
            "quantity": stored[0].quantity,
        }
    )
    summary = {
        "scenario": loaded.scenario.scenario,
        "seed": run.seed,
        "events": counts.events,
        "cars_started": counts.started,
        "cars_completed": counts.completed,
        "last_completed_vin": counts.last_completed_vin,
        "first_event_at": counts.first_ts,
        "last_event_at": counts.last_ts,
        "days": round(run.until_s / 86_400.0, 2),
        "ingest": ingest,
        "published": published,
        "plan": plan,
        "plan_out": None if plan_out is None else str(plan_out),
    }
    if json_output:
        print_json(summary)
    else:
        last_event = (
            time_text(datetime.fromisoformat(counts.last_ts), loaded.plant.timezone)
            if counts.last_ts
            else "none"
        )
        if outputs:
            err.print(
                f"{summary['scenario']} (seed {run.seed}): {plural(counts.events, 'event')}, "
                f"{plural(counts.started, 'car')} started, {counts.completed} completed "
                f"by day {summary['days']} (last event {last_event}); "
                f"last car completed: {counts.last_completed_vin}"
            )
        if ingest is not None:
            err.print(
                f"ingest: accepted {ingest['accepted']}, duplicates {ingest['duplicates']}, "
                f"rejected {ingest['rejected']}"
            )
        if stored is not None:
            revision, created = stored
            err.print(
                f"plan: revision {revision.revision}{'' if created else ' (unchanged)'}, "
                f"{revision.first_day} to {revision.last_day}: "
                f"{plural(revision.quantity, 'car')} planned"
            )
        if plan_out is not None:
            err.print(f"wrote the plan to {plan_out}, start of production to day {summary['days']}")
        if published is not None:
            err.print(
                f"published {plural(int(published['events']), 'event')} to"
                f" {broker or masked_url(nats_server or '')} "
                f"in {published['seconds']} s, every one acknowledged"
            )
