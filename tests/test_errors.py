"""Each area's input error carries its code, the parameter and the value, and reads well."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from sqlalchemy import Engine

from linespeed.access.audit import list_audit
from linespeed.access.errors import AuditInputError, TokenInputError
from linespeed.access.tokens import create_token
from linespeed.cli.common import parse_time
from linespeed.cli.errors import CliUsageError
from linespeed.errors import InputError, LinespeedError
from linespeed.kpi import kpi_report
from linespeed.kpi.errors import KpiInputError
from linespeed.mqtt.broker import parse_broker_url
from linespeed.ramp.errors import MilestoneInputError, RampReferenceError
from linespeed.ramp.milestones import plan_milestone
from linespeed.ramp.report import ramp_report
from linespeed.sim.errors import SimInputError
from linespeed.sim.publish import publish_events
from linespeed.trace import TraceInputError, part_recall

NAIVE = datetime(2025, 6, 30, 9)
LATE, EARLY = datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)

CASES: list[tuple[str, Callable[[Engine], object], type[InputError], str, str, object]] = [
    (
        "kpi by",
        lambda e: kpi_report(e, by=cast(Any, "week")),
        KpiInputError,
        "kpi.input",
        "by",
        "week",
    ),
    ("kpi since", lambda e: kpi_report(e, since=NAIVE), KpiInputError, "kpi.input", "since", NAIVE),
    (
        "trace lot",
        lambda e: part_recall(e, "BRK-2201"),
        TraceInputError,
        "trace.input",
        "lot",
        None,
    ),
    (
        "trace to",
        lambda e: part_recall(
            e, "BRK-2201", supplier="sup-brk", installed_from=LATE, installed_to=EARLY
        ),
        TraceInputError,
        "trace.input",
        "to",
        EARLY,
    ),
    (
        "ramp references",
        lambda e: ramp_report(e, references=["nope"]),
        RampReferenceError,
        "ramp.input",
        "references",
        ["nope"],
    ),
    (
        "milestone number",
        lambda e: plan_milestone(e, 0),
        MilestoneInputError,
        "milestone.input",
        "number",
        0,
    ),
    (
        "token role",
        lambda e: create_token(e, "king"),
        TokenInputError,
        "token.input",
        "role",
        "king",
    ),
    (
        "token stations",
        lambda e: create_token(e, "viewer", stations=["ga-090"]),
        TokenInputError,
        "token.input",
        "stations",
        ["ga-090"],
    ),
    ("audit limit", lambda e: list_audit(e, limit=0), AuditInputError, "audit.input", "limit", 0),
    (
        "sim speed",
        lambda e: publish_events([], parse_broker_url("mqtt://127.0.0.1:1"), "yz1", speed=-1),
        SimInputError,
        "sim.input",
        "speed",
        -1,
    ),
    ("cli time", lambda e: parse_time("soon"), CliUsageError, "cli.usage", "time", "soon"),
]


@pytest.mark.parametrize(
    ("ask", "kind", "code", "parameter", "value"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_area_raises_its_input_error_with_the_parameter_and_value(
    memory_engine: Engine,
    ask: Callable[[Engine], object],
    kind: type[InputError],
    code: str,
    parameter: str,
    value: object,
) -> None:
    with pytest.raises(LinespeedError) as caught:
        ask(memory_engine)
    error = caught.value
    assert type(error) is kind
    assert isinstance(error, InputError)
    assert (error.code, error.parameter, error.value) == (code, parameter, value)
    assert repr(error) == (
        f"{kind.__name__}(parameter={parameter!r}, value={value!r}, message={error.message!r})"
    )


def test_a_message_names_parameters_as_the_library_does_and_a_face_may_spell_them() -> None:
    def wording(n: Callable[[str], str]) -> str:
        return f"{n('to')} 2025-01-01 is before {n('from')} 2025-02-01"

    error = TraceInputError(wording, parameter="to", value="2025-01-01")
    assert str(error) == "to 2025-01-01 is before from 2025-02-01"
    flagged = error.named({"from": "--from", "to": "--to"})
    assert type(flagged) is TraceInputError
    assert (flagged.code, flagged.parameter, flagged.value) == ("trace.input", "to", "2025-01-01")
    assert str(flagged) == "--to 2025-01-01 is before --from 2025-02-01"
    assert str(flagged.named({"--to": "TO"})) == "TO 2025-01-01 is before --from 2025-02-01"
    assert str(error) == "to 2025-01-01 is before from 2025-02-01"


def test_a_plain_message_is_not_spelled_again() -> None:
    error: Any = KpiInputError("since 2025-06-30T09:00:00 has no UTC offset", parameter="since")
    assert error.named({"since": "--since"}) is error
    assert error.value is None
