"""Events that came before the events they follow, stored once those come late.

A broker delivers again the messages a killed bridge had not acknowledged. Mosquitto does so
first thing when the session resumes, in order. NATS's MQTT listener does so only when its
`ack_wait` (30 s by default) runs out, behind the messages published meanwhile; so a car's
later events can come before the car's start, and ingest refuses them (`unit.unknown`, ...)
as dead letters. `LateDeliveries` notices both halves (a refusal that may succeed later, and
a message delivered again, MQTT's DUP flag) and then retries the open dead letters through
the one ingest path, as `linespeed deadletters retry` does: what now fits is stored and its
dead letter resolved. A bridge starts as if refusals were waiting, since the run killed before
it may have left some.
"""

from __future__ import annotations

import logging
from typing import Final

from linespeed.events.reasons import is_retryable
from linespeed.ingest.core import Ingestor, Outcome
from linespeed.ingest.retry import retry_dead_letters

RETRIES: Final = 20
"""Retries after a refusal that may succeed later, at most (each after a redelivery)."""

log = logging.getLogger(__name__)


class LateDeliveries:
    """Retries open dead letters after a redelivery, when a refusal may have come too early."""

    def __init__(self, ingestor: Ingestor) -> None:
        self.ingestor = ingestor
        self.stored = 0
        """Dead letters stored by these retries."""
        self._retries_left = RETRIES  # a killed bridge before this one may have left some

    def after_commit(self, outcomes: list[Outcome], redelivered: bool) -> None:
        """Note a committed batch; retry the open dead letters if it held a message delivered
        again and a refusal that may succeed later came lately (up to RETRIES times after it).

        Lets database errors through (the batch itself is committed; its letters stay open).
        """
        if any(o.status == "rejected" and is_retryable(o.reason or "") for o in outcomes):
            self._retries_left = RETRIES
        if not (redelivered and self._retries_left):
            return
        report = retry_dead_letters(self.ingestor)
        stored = report.accepted + report.duplicates
        self.stored += stored
        self._retries_left = self._retries_left - 1 if report.rejected else 0
        if stored:
            log.warning(
                "stored %d events that had come before the events they follow "
                "(the broker delivered those again, late); %d dead letters still open",
                stored,
                report.rejected,
            )
