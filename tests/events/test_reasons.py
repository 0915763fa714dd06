"""REASONS as records: every code has a stage and says whether a retry may succeed."""

from __future__ import annotations

from typing import get_args

import pytest

from linespeed.events.reasons import REASONS, EventRejectedError, Stage, is_retryable


def test_the_refusals_a_retry_cannot_undo() -> None:
    not_retryable = {code for code, reason in REASONS.items() if not reason.retryable}
    assert not_retryable == {
        "csv.row",
        "payload.too_large",
        "topic.mismatch",
        "plant.unknown",
        "station.not_allowed",
        "correction.not_allowed",
    }
    assert [code for code in sorted(REASONS) if not is_retryable(code)] == sorted(not_retryable)
    assert is_retryable("a.code.from.an.older.version")


def test_every_record_is_keyed_by_its_code_and_has_a_stage_and_a_meaning() -> None:
    for code, reason in REASONS.items():
        assert reason.code == code
        assert reason.stage in get_args(Stage)
        assert reason.meaning
    assert {reason.stage for reason in REASONS.values()} == set(get_args(Stage))
    assert REASONS["unit.open_defect"].stage == "state machine"
    assert REASONS["ts.no_offset"].stage == "decode"


def test_a_rejection_carries_its_record() -> None:
    error = EventRejectedError("topic.mismatch", "station ga-090, topic says ga-120")
    assert error.reason is REASONS["topic.mismatch"]
    assert (error.code, error.reason.retryable) == ("topic.mismatch", False)
    with pytest.raises(KeyError):
        EventRejectedError("no.such", "detail")
