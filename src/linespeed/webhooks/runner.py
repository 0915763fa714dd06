"""The runner: follows the plant's event log and delivers each webhook's news, in order.

`WebhookRunner.run_once` makes one pass over the webhooks: for each, it attempts the item it
is retrying when that is due, or else reads the news after its resume point and queues the
first item of its kinds. A failed attempt is tried again after an exponential back-off with
jitter (`DeliverySettings`), until it is delivered or given up (`failed`); then the webhook
moves on. The runner never holds a transaction while it waits on a receiver, and it reads
the log as every other reader does, so ingest never waits for it. `linespeed serve` runs it
in a thread (`start`, `stop`); `linespeed webhook run` in the foreground (`run`).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from linespeed.errors import LinespeedError
from linespeed.live.feed import MAX_BATCH, feed_after
from linespeed.store.engine import read_connection
from linespeed.store.plants import current_plant_id
from linespeed.webhooks import log as delivery_log
from linespeed.webhooks.errors import WebhookInputError
from linespeed.webhooks.news import delivery_body, webhook_kind
from linespeed.webhooks.registry import Target, targets
from linespeed.webhooks.sending import (
    DELIVERY_HEADER,
    KIND_HEADER,
    SIGNATURE_HEADER,
    Attempt,
    Sender,
    post_json,
    signature,
)

log = logging.getLogger(__name__)

_CLAIM_MARGIN_S: Final = 30.0
"""How long past an attempt's timeout it stays claimed (a runner that died mid-attempt)."""
_MOST_TROUBLE_WAIT_S: Final = 60.0
_STOP_WAIT_S: Final = 5.0


@dataclass(frozen=True)
class DeliverySettings:
    """How deliveries are attempted: the timeout of one attempt, the back-off between
    attempts (from `first_delay_s`, doubling, up to `max_delay_s`, each cut by up to
    `jitter` of itself at random), when an item is given up (after `max_attempts`, or
    `give_up_after_s` after it was queued), and how often the log is looked at when idle.
    """

    timeout_s: float = 10.0
    first_delay_s: float = 1.0
    max_delay_s: float = 300.0
    jitter: float = 0.5
    max_attempts: int = 20
    give_up_after_s: float = 6 * 3600.0
    poll_s: float = 1.0

    def __post_init__(self) -> None:
        """Raises WebhookInputError if a time is not positive, `max_delay_s` is below
        `first_delay_s`, `jitter` is outside 0..1 or `max_attempts` is below 1."""
        checks = {
            "timeout_s": self.timeout_s > 0,
            "first_delay_s": self.first_delay_s > 0,
            "max_delay_s": self.max_delay_s >= self.first_delay_s,
            "jitter": 0 <= self.jitter <= 1,
            "max_attempts": self.max_attempts >= 1,
            "give_up_after_s": self.give_up_after_s > 0,
            "poll_s": self.poll_s > 0,
        }
        bad = [name for name, good in checks.items() if not good]
        if bad:
            name, value = bad[0], getattr(self, bad[0])
            raise WebhookInputError(
                lambda spell: f"{spell(name)} {value} is out of range", parameter=name, value=value
            )

    def delay_s(self, attempts: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number `attempts` (from 1)."""
        full = min(self.max_delay_s, self.first_delay_s * 2.0 ** min(attempts - 1, 60))
        return full * (1 - self.jitter * rng.random())


Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


class WebhookRunner:
    """Delivers the news of the plant store `engine` to its webhooks."""

    def __init__(
        self,
        engine: Engine,
        settings: DeliverySettings = DeliverySettings(),
        *,
        send: Sender = post_json,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        """A runner over `engine`; `send`, `clock` and `rng` are replaceable for tests."""
        self.engine = engine
        self.settings = settings
        self.send = send
        self.clock = clock
        self.rng = rng or random.Random()
        self._plant: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> bool:
        """One pass over the webhooks: at most one attempt or one queued item each.

        True if it got anywhere (something was queued, attempted or skipped), so another
        pass may get further at once. Raises SQLAlchemyError if the store fails.
        """
        busy = False
        for target in targets(self.engine):
            busy = self._step(target) or busy
        return busy

    def idle(self) -> bool:
        """Whether no webhook has an item left to deliver (after a pass that got nowhere)."""
        return not delivery_log.any_retrying(self.engine)

    def run(self, stop: threading.Event, *, until_idle: bool = False) -> None:
        """Deliver until `stop` is set (or, if `until_idle`, until nothing is left to deliver).

        A store that fails is logged and tried again, waiting longer each time (up to a
        minute); the runner itself never stops on it.
        """
        trouble = 0
        while not stop.is_set():
            try:
                busy = self.run_once()
                if not busy and until_idle and self.idle():
                    return
                trouble = 0
            except (SQLAlchemyError, LinespeedError) as error:
                trouble += 1
                busy = False
                log.warning("webhooks: the store failed, trying again: %s", error)
            if not busy:
                stop.wait(min(self.settings.poll_s * 2**trouble, _MOST_TROUBLE_WAIT_S))

    def start(self) -> None:
        """Run in a background thread (for `linespeed serve`) until `stop`.

        An in-memory SQLite store is one connection's own: no thread can follow it, so the
        runner does not start on one.
        """
        url = self.engine.url
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            log.info("webhooks: not delivered from an in-memory store")
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.run, args=(self._stop,), name="linespeed-webhooks", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread, waiting a few seconds for an attempt under way (one
        that outlasts the wait is tried again later: its item stays `retrying`)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(_STOP_WAIT_S)
            self._thread = None

    def _plant_id(self) -> str:
        if self._plant is None:
            with read_connection(self.engine) as connection:
                self._plant = current_plant_id(connection) or ""
        return self._plant

    def _step(self, target: Target) -> bool:
        item = delivery_log.pending(self.engine, target.id)
        moved = False
        if item is None:
            moved, item = self._queue_next(target)
            if item is None:
                return moved
        if item.next_attempt_at > self.clock():
            return moved
        self._attempt(target, item)
        return True

    def _queue_next(self, target: Target) -> tuple[bool, delivery_log.Pending | None]:
        messages, resume = feed_after(self.engine, target.after_seq, MAX_BATCH)
        for message in messages:
            kind = webhook_kind(message)
            if kind is None or kind not in target.kinds:
                continue
            body = delivery_body(self._plant_id(), target.id, kind, message)
            item = delivery_log.queue(
                self.engine, target.id, target.after_seq, message.seq, kind, body, self.clock()
            )
            return True, item
        if resume <= target.after_seq:
            return False, None
        delivery_log.move_on(self.engine, target.id, target.after_seq, resume)
        return True, None

    def _attempt(self, target: Target, item: delivery_log.Pending) -> None:
        settings = self.settings
        started = self.clock()
        if not delivery_log.claim(self.engine, item, started, settings.timeout_s + _CLAIM_MARGIN_S):
            return
        attempts = item.attempts + 1
        headers = {DELIVERY_HEADER: str(item.id), KIND_HEADER: item.kind}
        if target.secret is not None:
            headers[SIGNATURE_HEADER] = signature(target.secret, item.body)
        attempt = self.send(target.url, item.body, headers, settings.timeout_s)
        now = self.clock()
        if attempt.delivered:
            outcome: tuple[delivery_log.Status, int | None, str | None] = (
                "delivered",
                attempt.http_status,
                None,
            )
            delivery_log.record(self.engine, item, attempts, outcome, now, None)
            return
        given_up = attempts >= settings.max_attempts or now - item.created_at >= timedelta(
            seconds=settings.give_up_after_s
        )
        status: delivery_log.Status = "failed" if given_up else "retrying"
        delay_s = settings.delay_s(attempts, self.rng)
        next_at = None if given_up else now + timedelta(seconds=delay_s)
        delivery_log.record(
            self.engine, item, attempts, (status, attempt.http_status, attempt.error), now, next_at
        )
        _log_failure(target, item, attempts, attempt, None if given_up else delay_s, settings)


def _log_failure(
    target: Target,
    item: delivery_log.Pending,
    attempts: int,
    attempt: Attempt,
    delay_s: float | None,
    settings: DeliverySettings,
) -> None:
    what = (
        f"webhook {target.id}: delivery {item.id} (event {item.seq}, {item.kind}) "
        f"attempt {attempts} of {settings.max_attempts} failed: {attempt.error}"
    )
    if delay_s is None:
        log.warning("%s; given up", what)
    else:
        log.warning("%s; next attempt in %.1f s", what, delay_s)
