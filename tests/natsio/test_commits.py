"""The NATS bridge's committer: batches committed in order, a failing COMMIT handed back.

No store and no server: the ingest's transaction is a stand-in that commits (or fails at
COMMIT) at once, after starting the read of the next batch as the real one does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from sqlalchemy.exc import OperationalError

from linespeed.bridges import nats_commits
from linespeed.bridges.nats_commits import Committer
from linespeed.errors import StoreError
from linespeed.ingest.core import DecodedBatch, Ingestor, Outcome, RawEvent
from tests.natsio.conftest import run


class _StandIn(Ingestor):
    """An ingestor whose transaction commits, or fails at COMMIT from batch `fail_at` on."""

    def __init__(self, fail_at: int | None = None) -> None:
        super().__init__(engine=None)  # type: ignore[arg-type]
        self.fail_at = fail_at
        self.committed: list[list[str]] = []

    def _ingest(
        self, prepared: DecodedBatch, before_commit: Callable[[], object] | None = None
    ) -> list[Outcome]:
        if before_commit is not None:
            before_commit()  # what the transaction does just before its COMMIT
        if self.fail_at is not None and len(self.committed) >= self.fail_at:
            raise OperationalError("COMMIT", {}, Exception("database is locked"))
        sources = [item.source for item in prepared.items]
        self.committed.append(sources)
        return [Outcome("accepted", None, source) for source in sources]


def _batch(name: str) -> list[RawEvent]:
    return [RawEvent(b'{"id":"' + name.encode() + b'"}', name)]


def test_a_failing_commit_is_handed_back_not_waited_on_forever(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The error comes back on `done` though no next batch is ever handed over."""
    monkeypatch.setattr(nats_commits, "STORE_RETRIES", 1)
    ingestor = _StandIn(fail_at=0)

    async def commit_one() -> BaseException | tuple[str, list[Outcome]]:
        committer: Committer[str] = Committer(ingestor, asyncio.get_running_loop())
        committer.start()
        committer.submit("batch-1", _batch("a"))
        try:
            return await asyncio.wait_for(committer.done.get(), 5.0)
        finally:
            await asyncio.to_thread(committer.close)

    done = run(commit_one())
    assert isinstance(done, StoreError)
    assert done.message == (
        "the store failed 1 times in a row to commit a batch (database is locked): stopped;"
        " nothing of the batch was acknowledged, JetStream delivers it again"
    )
    assert ingestor.committed == []


def test_a_committer_told_to_stop_retrying_hands_its_failure_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a limit it tries for as long as the store fails, until the bridge stops."""
    monkeypatch.setattr(nats_commits, "STORE_RETRY_MAX_S", 0.01)
    ingestor = _StandIn(fail_at=0)

    async def fail_until_stopped() -> BaseException | tuple[str, list[Outcome]]:
        committer: Committer[str] = Committer(ingestor, asyncio.get_running_loop())
        committer.start()
        committer.submit("batch-1", _batch("a"))
        try:
            await asyncio.sleep(0.3)
            assert committer.done.empty()  # still trying, not failed
            committer.stop_retrying()
            return await asyncio.wait_for(committer.done.get(), 5.0)
        finally:
            await asyncio.to_thread(committer.close)

    done = run(fail_until_stopped())
    assert isinstance(done, StoreError)
    assert "times in a row to commit a batch (database is locked): stopped" in done.message
    assert ingestor.committed == []


def test_batches_handed_over_with_pauses_are_committed_in_order() -> None:
    """A pause longer than a read ahead waits ends the batches; the next ones still come."""
    ingestor = _StandIn()

    async def commit_three() -> list[tuple[str, list[str]]]:
        committer: Committer[str] = Committer(ingestor, asyncio.get_running_loop())
        committer.start()
        got: list[tuple[str, list[str]]] = []
        try:
            for name in ("a", "b", "c"):
                committer.submit(name, _batch(name))
                done = await asyncio.wait_for(committer.done.get(), 5.0)
                assert not isinstance(done, BaseException)
                got.append((done[0], [outcome.source for outcome in done[1]]))
                await asyncio.sleep(0.3)  # longer than the committer's read ahead waits
        finally:
            await asyncio.to_thread(committer.close)
        return got

    assert run(commit_three()) == [("a", ["a"]), ("b", ["b"]), ("c", ["c"])]
    assert ingestor.committed == [["a"], ["b"], ["c"]]
