"""Retrying dead letters through the one ingest path."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from linespeed.events.reasons import is_retryable
from linespeed.ingest.core import Ingestor, IngestReport, RawEvent, batched
from linespeed.mqtt.topics import TOPIC_ROOT
from linespeed.natsio.subjects import SUBJECT_ROOT
from linespeed.store.deadletters import list_dead_letters

SourceKind = Literal["file", "mqtt", "nats", "api"]
"""Where a dead letter came from, read from its source text: an MQTT topic
(`linespeed/v1/...`), a NATS subject (`linespeed.v1...`), an API request (`api:...`), or
else a file (`FILE:LINE`)."""
SKIPPED_WORDS: Final[dict[SourceKind, tuple[str, str]]] = {
    "file": ("CSV row", "fix the file, ingest it again"),
    "mqtt": ("MQTT message", "correct and publish again"),
    "nats": ("NATS message", "correct and publish again"),
    "api": ("posted event", "correct and post again"),
}
"""How a report words skipped letters of each source kind: the noun, and what to do."""


def source_kind(source: str) -> SourceKind:
    """The kind of source a dead letter's source text names (see SourceKind)."""
    if source.startswith(f"{TOPIC_ROOT}/"):
        return "mqtt"
    if source.startswith(f"{SUBJECT_ROOT}."):
        return "nats"
    if source.startswith("api:"):
        return "api"
    return "file"


@dataclass
class RetryReport(IngestReport):
    """An ingest report for a retry, with how many dead letters were tried."""

    retried: int = 0
    skipped: int = 0
    """Letters that cannot succeed as they are (CSV rows that do not parse, MQTT messages
    refused for their topic or size, ...): fix them at their source."""
    skipped_by_source: Counter[SourceKind] = field(default_factory=Counter)
    """The skipped letters by the kind of their source (the text report words each kind)."""

    def as_dict(self) -> dict[str, Any]:
        """The report as `{"retried", "skipped", "accepted", "duplicates", "rejected",
        "reasons"}` (what `deadletters retry --json` prints)."""
        return {"retried": self.retried, "skipped": self.skipped, **super().as_dict()}

    def skipped_text(self) -> str:
        """The skipped letters for people, by source: `5 CSV rows (fix the file, ingest it
        again), 1 MQTT message (correct and publish again)`; empty when none was."""
        parts = []
        for kind, (noun, action) in SKIPPED_WORDS.items():
            count = self.skipped_by_source[kind]
            if count:
                parts.append(f"{count} {noun if count == 1 else noun + 's'} ({action})")
        return ", ".join(parts)


def retry_dead_letters(ingestor: Ingestor) -> RetryReport:
    """Ingest every open dead letter again, oldest first.

    Those accepted (or found already stored) are marked resolved; the rest stay open
    with their new reason and one more attempt counted. Letters whose reason is not
    retryable (see `Reason.retryable` in REASONS) are skipped and counted by the kind of
    their source: CSV rows that did not parse (`csv.row`) need the file fixed and ingested
    again; MQTT or NATS messages refused for their topic or size, and events refused for
    their token's rights, need to be sent again, corrected. Dismissed letters are not tried.
    """
    open_letters = list_dead_letters(ingestor.engine, "open")
    letters = [letter for letter in open_letters if is_retryable(letter.reason)]
    report = RetryReport(retried=len(letters), skipped=len(open_letters) - len(letters))
    report.skipped_by_source.update(
        source_kind(letter.source) for letter in open_letters if not is_retryable(letter.reason)
    )
    items = (
        RawEvent(letter.raw.encode(), letter.source, dead_letter_id=letter.id) for letter in letters
    )
    for batch in batched(items):
        report.add(ingestor.ingest(batch))
    return report
