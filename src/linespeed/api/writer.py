"""The API's one writing thread: group commit of posted events, and the audit log.

Each ingest is one transaction and one disk sync. While one commits, other requests queue;
the next ingest takes them all (up to `max_events`) as one batch and hands each request its
own slice of the outcomes, so many stations posting single events share syncs instead of
waiting for one each. The outcomes are those of ingesting the requests one after another in
arrival order: an event id seen earlier in the group is a duplicate, as it would be.

When the ingest of a group raises, each request of the group is ingested again on its own,
so only a request whose own ingest fails learns of the failure; the others get their
outcomes, committed. A failure of the store itself (ingest's `STORE_TROUBLE`: it cannot be
reached, is locked or full) is not retried: every request of the group gets it.

Audit records are written by the same thread, in one transaction per round, so they never
wait on the store's write lock behind an ingest of this server (SQLite lets one writer in
at a time, and a waiting writer sleeps in steps of up to 100 ms).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import Engine

from linespeed.access.audit import AuditRecord, record_writes
from linespeed.ingest.core import STORE_TROUBLE, Ingestor, Outcome, RawEvent

DEFAULT_MAX_EVENTS: Final = 20_000


@dataclass
class _Ingest:
    batch: Sequence[RawEvent]
    done: Future[list[Outcome]] = field(default_factory=Future)


@dataclass
class _Audit:
    record: AuditRecord
    done: Future[None] = field(default_factory=Future)


class GroupWriter:
    """Ingests queued batches in groups, and appends audit records, on its own thread
    (started on first use)."""

    def __init__(
        self, ingestor: Ingestor, audit_engine: Engine, max_events: int = DEFAULT_MAX_EVENTS
    ) -> None:
        self.ingestor = ingestor
        self.audit_engine = audit_engine
        self.max_events = max_events
        self._queue: queue.SimpleQueue[_Ingest | _Audit | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def submit(self, batch: Sequence[RawEvent]) -> Future[list[Outcome]]:
        """Queue `batch` to be ingested with whatever else is waiting; the future gives its
        outcomes, in order, once committed, or raises what ingest of `batch` alone raised,
        or the OperationalError of a database that failed the whole group (then nothing of
        `batch` is stored)."""
        request = _Ingest(batch)
        self._put(request)
        return request.done

    def submit_audit(self, record: AuditRecord) -> Future[None]:
        """Queue `record` for the audit log; the future is done once it is stored, or
        raises what the database raised."""
        request = _Audit(record)
        self._put(request)
        return request.done

    def ingest(self, batch: Sequence[RawEvent]) -> list[Outcome]:
        """`submit`, and wait for the outcomes. Raises what ingest raises."""
        return self.submit(batch).result()

    def close(self) -> None:
        """Finish what is queued and stop the thread."""
        with self._start:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _put(self, item: _Ingest | _Audit) -> None:
        with self._start:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="linespeed-api-writer", daemon=True
                )
                self._thread.start()
            self._queue.put(item)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                return
            waiting = [first]
            size = len(first.batch) if isinstance(first, _Ingest) else 0
            while size < self.max_events:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                waiting.append(more)
                if isinstance(more, _Ingest):
                    size += len(more.batch)
            self._ingest([item for item in waiting if isinstance(item, _Ingest)])
            self._audit([item for item in waiting if isinstance(item, _Audit)])

    def _ingest(self, group: list[_Ingest]) -> None:
        if not group:
            return
        combined = [item for request in group for item in request.batch]
        try:
            outcomes = self.ingestor.ingest(combined)
        except BaseException as error:
            if _retry_alone(group, error):  # one request failed the group: it alone learns
                for request in group:
                    self._ingest([request])
            else:  # the database failed: every request of the group learns why
                for request in group:
                    request.done.set_exception(error)
            return
        start = 0
        for request in group:
            request.done.set_result(outcomes[start : start + len(request.batch)])
            start += len(request.batch)

    def _audit(self, group: list[_Audit]) -> None:
        if not group:
            return
        try:
            record_writes(self.audit_engine, [item.record for item in group])
        except BaseException as error:
            for item in group:
                item.done.set_exception(error)
            return
        for item in group:
            item.done.set_result(None)


def _retry_alone(group: Sequence[_Ingest], error: BaseException) -> bool:
    """Whether each request of a failed group is worth ingesting on its own: there is more
    than one, and the error is not the store's own (STORE_TROUBLE)."""
    return len(group) > 1 and isinstance(error, Exception) and not isinstance(error, STORE_TROUBLE)
