"""The plant's webhooks: added (checked, starting at the newest event), listed, removed.

A webhook is a URL, the kinds of news it is sent (`linespeed.webhooks.news.KINDS`) and, if
a secret file was given, the secret that signs its bodies. The secret is read from the file
once, when the webhook is added, and kept in the plant's store; nothing prints it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import msgspec
from sqlalchemy import Engine, func, select

from linespeed.store.engine import read_connection, write_transaction
from linespeed.store.schema import events, webhook_deliveries, webhooks
from linespeed.webhooks.errors import UnknownWebhookError, WebhookInputError
from linespeed.webhooks.news import KINDS

_SECRET_AT_MOST: Final = 4096


class Webhook(msgspec.Struct, frozen=True):
    """A webhook as `webhook list` shows it (never its secret)."""

    id: int
    url: str
    on: list[str]
    """The kinds of news it is sent, in the order of KINDS."""
    signed: bool
    """Whether its bodies are signed (it was added with a secret file)."""
    after_seq: int
    """Its resume point: the events up to this one are delivered, given up or not news."""
    added_at: datetime


@dataclass(frozen=True)
class Target:
    """A webhook as the runner needs it: with its secret."""

    id: int
    url: str
    kinds: frozenset[str]
    secret: str | None
    after_seq: int


def check_url(url: str) -> str:
    """`url` if it is an http or https URL with a host.

    Raises WebhookInputError (parameter `url`) otherwise.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  (a bad port only shows when read)
    except ValueError:
        host = None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise WebhookInputError(
            lambda name: (
                f"{name('url')} {url!r} is not an http(s) URL such as "
                "https://hooks.example.com/linespeed"
            ),
            parameter="url",
            value=url,
        )
    return url


def check_kinds(kinds: Sequence[str]) -> list[str]:
    """The kinds named, each once, in the order of KINDS.

    Raises WebhookInputError (parameter `on`) if none is named or one is not a kind.
    """
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown or not kinds:
        said = f"{unknown[0]!r} is not a kind of news" if unknown else "no kind of news is named"
        raise WebhookInputError(
            lambda name: f"{said}: give {name('on')} {'|'.join(KINDS)} (one or more)",
            parameter="on",
            value=unknown[0] if unknown else None,
        )
    return [kind for kind in KINDS if kind in kinds]


def read_secret(path: Path) -> str:
    """The secret in the file at `path`, without the spaces and line ends around it.

    Raises WebhookInputError (parameter `secret_file`) if the file cannot be read, is not
    UTF-8 text, is empty or longer than 4096 bytes.
    """

    def refuse(problem: str) -> WebhookInputError:
        return WebhookInputError(
            lambda name: f"{name('secret_file')} {path}: {problem}",
            parameter="secret_file",
            value=str(path),
        )

    try:
        raw = path.read_bytes()
    except OSError as error:
        raise refuse(f"cannot be read ({error.strerror or error})") from None
    if len(raw) > _SECRET_AT_MOST:
        raise refuse(f"is longer than {_SECRET_AT_MOST} bytes: is it the secret?")
    try:
        secret = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise refuse("is not UTF-8 text") from None
    if not secret:
        raise refuse("is empty: write the shared secret in it")
    return secret


def add_webhook(
    engine: Engine, url: str, kinds: Sequence[str], secret_file: Path | None = None
) -> Webhook:
    """Add a webhook sent the news of `kinds` from now on (not the news already in the log).

    Raises WebhookInputError if `url` is not http(s), a kind is unknown or none is given,
    or the secret file cannot be read or is empty.
    """
    url = check_url(url)
    on = check_kinds(kinds)
    secret = None if secret_file is None else read_secret(secret_file)
    added_at = datetime.now(UTC)
    with write_transaction(engine) as connection:
        newest = int(connection.execute(select(func.max(events.c.seq))).scalar() or 0)
        webhook_id = connection.execute(
            webhooks.insert()
            .values(url=url, kinds=",".join(on), secret=secret, after_seq=newest, added_at=added_at)
            .returning(webhooks.c.id)
        ).scalar_one()
    return Webhook(int(webhook_id), url, on, secret is not None, newest, added_at)


def list_webhooks(engine: Engine) -> list[Webhook]:
    """The plant's webhooks, oldest first."""
    with read_connection(engine) as connection:
        rows = connection.execute(select(webhooks).order_by(webhooks.c.id)).all()
    return [
        Webhook(
            int(row.id),
            row.url,
            _kinds(row.kinds),
            row.secret is not None,
            int(row.after_seq),
            row.added_at,
        )
        for row in rows
    ]


def targets(engine: Engine) -> list[Target]:
    """The plant's webhooks with their secrets, for the runner."""
    with read_connection(engine) as connection:
        rows = connection.execute(select(webhooks).order_by(webhooks.c.id)).all()
    return [
        Target(
            int(row.id),
            row.url,
            frozenset(_kinds(row.kinds)),
            row.secret,
            int(row.after_seq),
        )
        for row in rows
    ]


def remove_webhook(engine: Engine, webhook_id: int) -> Webhook:
    """Remove a webhook: nothing more is sent to it; its delivery log stays, and the item it
    was retrying is marked failed ("webhook removed").

    Raises UnknownWebhookError if the plant has no webhook `webhook_id`.
    """
    now = datetime.now(UTC)
    with write_transaction(engine) as connection:
        row = connection.execute(select(webhooks).where(webhooks.c.id == webhook_id)).first()
        if row is None:
            known = connection.execute(select(webhooks.c.id).order_by(webhooks.c.id)).scalars()
            held = ", ".join(str(each) for each in known) or "none"
            raise UnknownWebhookError(
                f"this plant has no webhook {webhook_id} (it has: {held}); "
                "see `linespeed webhook list`"
            )
        connection.execute(webhooks.delete().where(webhooks.c.id == webhook_id))
        connection.execute(
            webhook_deliveries.update()
            .where(
                webhook_deliveries.c.webhook_id == webhook_id,
                webhook_deliveries.c.status == "retrying",
            )
            .values(status="failed", error="webhook removed", finished_at=now, next_attempt_at=None)
        )
    return Webhook(
        int(row.id), row.url, _kinds(row.kinds), row.secret is not None, row.after_seq, row.added_at
    )


def _kinds(stored: str) -> list[str]:
    named = set(stored.split(","))
    return [kind for kind in KINDS if kind in named]
