"""The NATS bridge's committer: batches ingested in order in a thread of their own.

The bridge's event loop pulls and prepares batches and hands them over; the committer runs
them through `Ingestor.ingest_batches` (which decodes the next batch while one commits) and
hands each batch back with its outcomes once it is committed, in the order they came. When
the store fails (a restart, a full disk), the batches not yet committed are ingested again,
in order, after a pause that doubles up to a minute, for as long as it takes; nothing of them
is acknowledged meanwhile (the bridge keeps them in progress). Told to stop retrying
(`stop_retrying`, when the bridge is stopped), or after STORE_RETRIES tries if that is set,
a StoreError is handed back: JetStream delivers the batches again to the next reader.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections import deque
from collections.abc import Iterator
from typing import Final, Generic, TypeVar

from sqlalchemy.exc import InterfaceError, OperationalError

from linespeed.errors import StoreError
from linespeed.ingest.core import Ingestor, Outcome, RawEvent
from linespeed.store.engine import store_failure

STORE_RETRIES: int | None = None
"""Tries of a failing batch before the committer gives up; None: for as long as it takes."""
STORE_RETRY_FIRST_S: Final = 1.0
STORE_RETRY_MAX_S: float = 60.0
_AHEAD_WAIT_S: Final = 0.2
"""How long a read ahead (while a batch commits) waits for the next batch to be handed over."""
Work = TypeVar("Work")
"""What the caller keeps with a batch (its messages), handed back with the outcomes."""

log = logging.getLogger(__name__)


class Committer(Generic[Work]):
    """Ingests handed-over batches in a thread; `done` yields (work, outcomes) in order."""

    def __init__(self, ingestor: Ingestor, loop: asyncio.AbstractEventLoop) -> None:
        self.ingestor = ingestor
        self.loop = loop
        self.done: asyncio.Queue[tuple[Work, list[Outcome]] | BaseException] = asyncio.Queue()
        self._inbox: queue.SimpleQueue[tuple[Work, list[RawEvent]] | None] = queue.SimpleQueue()
        self._pending: deque[tuple[Work, list[RawEvent]]] = deque()
        self._thread = threading.Thread(target=self._run, name="linespeed-nats-commit", daemon=True)
        self._giving_up = threading.Event()

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def submit(self, work: Work, items: list[RawEvent]) -> None:
        """Hand a batch over; it comes back on `done` once committed."""
        self._inbox.put((work, items))

    def stop_retrying(self) -> None:
        """Give up on a failing store at the next pause (the bridge is stopping)."""
        self._giving_up.set()

    def close(self) -> None:
        """Let the thread end after the batches handed over; wait for it."""
        self._inbox.put(None)
        self._thread.join()

    def _run(self) -> None:
        attempt = 0
        finished = threading.Event()
        while not finished.is_set():
            try:
                for outcomes in self.ingestor.ingest_batches(self._batches(finished)):
                    work, _items = self._pending.popleft()
                    self.loop.call_soon_threadsafe(self.done.put_nowait, (work, outcomes))
                    attempt = 0
            except (OperationalError, InterfaceError) as error:
                delay_s = min(STORE_RETRY_FIRST_S * 2**attempt, STORE_RETRY_MAX_S)
                attempt += 1
                if (STORE_RETRIES is not None and attempt >= STORE_RETRIES) or (
                    self._giving_up.is_set()
                ):
                    failed = StoreError(
                        f"the store failed {attempt} times in a row to commit a batch"
                        f" ({str(error.orig).strip()}): stopped; nothing of the batch was"
                        " acknowledged, JetStream delivers it again"
                    )
                    failed.__cause__ = error
                    self.loop.call_soon_threadsafe(self.done.put_nowait, failed)
                    return
                log.warning(
                    "%s: %d batches wait, unacknowledged; trying again in %g s",
                    store_failure(error),
                    len(self._pending),
                    delay_s,
                )
                self._giving_up.wait(delay_s)
            except BaseException as error:
                self.loop.call_soon_threadsafe(self.done.put_nowait, error)
                return

    def _batches(self, finished: threading.Event) -> Iterator[list[RawEvent]]:
        """The batches not yet committed (after a store failure), then new ones until closed.

        Only the first read waits as long as it takes: the others are asked for while a batch
        commits (`Ingestor.ingest_batches` reads ahead), and should that COMMIT fail, the
        ingest's error comes out only once this read is over. So they wait `_AHEAD_WAIT_S` at
        most, then end the batches (`_run` starts them again, waiting as long as it takes).
        """
        replayed = [items for _work, items in list(self._pending)]
        yield from replayed
        wait_s: float | None = _AHEAD_WAIT_S if replayed else None
        while True:
            try:
                handed = self._inbox.get(timeout=wait_s)
            except queue.Empty:
                return
            if handed is None:
                finished.set()
                return
            self._pending.append(handed)
            wait_s = _AHEAD_WAIT_S
            yield handed[1]
