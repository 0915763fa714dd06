"""`linespeed webhook add`, `list`, `remove`, `deliveries` and `run`: the plant's news
(milestones, stations down, part shortages) POSTed as signed JSON to URLs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final, Literal

import typer

from linespeed.cli.common import (
    DbOption,
    JsonOption,
    LogFormatOption,
    PlantOption,
    app,
    bridge_process,
    flag_names,
    out,
    plant_zone,
    print_json,
    store,
    time_text,
)

if TYPE_CHECKING:
    from linespeed.webhooks import Delivery, Webhook

webhook_app = typer.Typer(
    help=(
        "Webhooks: milestones, stations down and part shortages POSTed as signed JSON "
        "(`linespeed webhook add URL --on milestone`)."
    ),
    no_args_is_help=True,
)
app.add_typer(webhook_app, name="webhook")

KINDS: Final = ("milestone", "station.down", "shortage")
"""`linespeed.webhooks.news.KINDS`: the news a webhook can be sent."""
DeliveryStatus = Literal["retrying", "delivered", "failed"]
"""`linespeed.webhooks.log.Status`."""
DEFAULT_TIMEOUT_S: Final = 10.0
"""`linespeed.webhooks.runner.DeliverySettings.timeout_s`."""
DEFAULT_MAX_ATTEMPTS: Final = 20
"""`linespeed.webhooks.runner.DeliverySettings.max_attempts`."""
DEFAULT_POLL_S: Final = 1.0
"""`linespeed.webhooks.runner.DeliverySettings.poll_s`."""


@webhook_app.command("add")
@flag_names({"url": "URL", "on": "--on", "secret_file": "--secret-file"})
def webhook_add(
    url: Annotated[str, typer.Argument(metavar="URL", help="Where to POST: an http(s) URL.")],
    on: Annotated[
        list[str],
        typer.Option(
            "--on",
            metavar="KIND",
            help="The news it is sent: milestone, station.down or shortage (repeatable).",
        ),
    ],
    secret_file: Annotated[
        Path | None,
        typer.Option(
            "--secret-file",
            help="A file holding the secret that signs each body (X-Linespeed-Signature).",
            show_default=False,
        ),
    ] = None,
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Add a webhook: news of the kinds given, from now on, is POSTed to URL as JSON.

    Example: linespeed webhook add https://hooks.example.com/ls --on milestone --secret-file k
    """
    from linespeed.webhooks import add_webhook

    with store(db, plant) as engine:
        webhook = add_webhook(engine, url, on, secret_file)
    if json_output:
        print_json(webhook)
        return
    out.print(f"webhook {webhook.id} added: {_described(webhook)}")
    out.print(f"    news after event {webhook.after_seq} is sent to it")


@webhook_app.command("list")
def webhook_list(
    plant: PlantOption = None, db: DbOption = None, json_output: JsonOption = False
) -> None:
    """List the plant's webhooks (never their secrets).

    Example: linespeed webhook list --json
    """
    from linespeed.webhooks import list_webhooks

    with store(db, plant) as engine:
        webhooks = list_webhooks(engine)
    if json_output:
        print_json(webhooks)
        return
    if not webhooks:
        out.print("no webhooks: add one with `linespeed webhook add URL --on milestone`")
    for webhook in webhooks:
        out.print(f"{webhook.id} {_described(webhook)}; after event {webhook.after_seq}")


@webhook_app.command("remove")
def webhook_remove(
    webhook_id: Annotated[int, typer.Argument(metavar="ID", help="The webhook's number.")],
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Remove a webhook: nothing more is sent to it; its delivery log stays.

    Example: linespeed webhook remove 2
    """
    from linespeed.webhooks import remove_webhook

    with store(db, plant) as engine:
        webhook = remove_webhook(engine, webhook_id)
    if json_output:
        print_json(webhook)
        return
    out.print(f"webhook {webhook.id} removed: {webhook.url}")


@webhook_app.command("deliveries")
def webhook_deliveries(
    webhook_id: Annotated[
        int | None, typer.Option("--webhook", help="Only this webhook's.", show_default=False)
    ] = None,
    status: Annotated[
        DeliveryStatus | None,
        typer.Option("--status", help="Only those retrying, delivered or failed."),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="Only the newest this many.", show_default=False),
    ] = None,
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """List the delivery log, oldest first: each news item, its status and attempts.

    Example: linespeed webhook deliveries --webhook 1 --status failed --json
    """
    from linespeed.webhooks import list_deliveries

    with store(db, plant) as engine:
        zone = plant_zone(engine)
        deliveries = list_deliveries(engine, webhook_id, status, limit)
    if json_output:
        print_json(deliveries)
        return
    if not deliveries:
        out.print("no deliveries")
    for delivery in deliveries:
        out.print(_delivery_line(delivery, zone))


@webhook_app.command("run")
@flag_names({"timeout_s": "--timeout-s", "max_attempts": "--max-attempts", "poll_s": "--poll-s"})
def webhook_run(
    timeout_s: Annotated[
        float, typer.Option("--timeout-s", min=0.001, help="Seconds one attempt may take.")
    ] = DEFAULT_TIMEOUT_S,
    max_attempts: Annotated[
        int, typer.Option("--max-attempts", min=1, help="Attempts at an item before giving up.")
    ] = DEFAULT_MAX_ATTEMPTS,
    poll_s: Annotated[
        float, typer.Option("--poll-s", min=0.001, help="Seconds between looks at the log.")
    ] = DEFAULT_POLL_S,
    until_idle: Annotated[
        bool,
        typer.Option("--until-idle", help="Stop once every item is delivered or given up."),
    ] = False,
    log_format: LogFormatOption = "text",
    plant: PlantOption = None,
    db: DbOption = None,
) -> None:
    """Deliver the webhooks' news in the foreground, where no `linespeed serve` runs.

    It starts where the delivery log left off; Ctrl-C or SIGTERM stops it.

    Example: linespeed webhook run --plant yz1
    """
    from linespeed.webhooks import DeliverySettings, WebhookRunner

    settings = DeliverySettings(timeout_s=timeout_s, max_attempts=max_attempts, poll_s=poll_s)
    stop = bridge_process(log_format)
    with store(db, plant) as engine:
        if not until_idle:
            out.print("delivering webhooks; Ctrl-C stops")
        WebhookRunner(engine, settings).run(stop, until_idle=until_idle)


def _described(webhook: Webhook) -> str:
    signed = "signed" if webhook.signed else "unsigned"
    return f"POST {webhook.url} on {', '.join(webhook.on)} ({signed})"


def _delivery_line(delivery: Delivery, zone: str | None) -> str:
    answer = "" if delivery.http_status is None else f"HTTP {delivery.http_status}"
    if delivery.error is not None and delivery.status != "delivered":
        answer = delivery.error
    tries = f"{delivery.attempts} attempt" + ("" if delivery.attempts == 1 else "s")
    when = time_text(delivery.finished_at or delivery.last_attempt_at or delivery.created_at, zone)
    line = (
        f"#{delivery.id} webhook {delivery.webhook} event {delivery.seq} {delivery.kind}: "
        f"{delivery.status}, {tries}"
    )
    if answer:
        line += f", last {answer}"
    line += f" ({when})"
    if delivery.status == "retrying" and delivery.next_attempt_at is not None:
        line += f"; next attempt {time_text(delivery.next_attempt_at, zone)}"
    return line
