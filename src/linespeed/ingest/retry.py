"""Retrying dead letters through the one ingest path."""

from __future__ import annotations

from dataclasses import dataclass

from linespeed.events.reasons import is_retryable
from linespeed.ingest.core import Ingestor, IngestReport, RawEvent, batched
from linespeed.store.deadletters import list_dead_letters


@dataclass
class RetryReport(IngestReport):
    """An ingest report for a retry, with how many dead letters were tried."""

    retried: int = 0
    skipped: int = 0
    """Letters that cannot succeed as they are (CSV rows that do not parse): fix the file."""


def retry_dead_letters(ingestor: Ingestor) -> RetryReport:
    """Ingest every open dead letter again, oldest first.

    Those accepted (or found already stored) are marked resolved; the rest stay open
    with their new reason and one more attempt counted. CSV rows that did not parse
    (`csv.row`) are skipped: they need the file fixed and ingested again; so are the other
    letters whose reason is not retryable (see `Reason.retryable` in REASONS).
    """
    open_letters = list_dead_letters(ingestor.engine, "open")
    letters = [letter for letter in open_letters if is_retryable(letter.reason)]
    report = RetryReport(retried=len(letters), skipped=len(open_letters) - len(letters))
    items = (
        RawEvent(letter.raw.encode(), letter.source, dead_letter_id=letter.id) for letter in letters
    )
    for batch in batched(items):
        report.add(ingestor.ingest(batch))
    return report
