"""API bearer tokens (access/tokens.py), without HTTP: created per role, stored hashed,
authenticated, ranked, limited to stations, listed and revoked (on SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from linespeed.access.errors import ForbiddenError, TokenInputError, UnauthorizedError
from linespeed.access.tokens import (
    ROLES,
    TOKEN_PREFIX,
    UNAUTHORIZED,
    ApiToken,
    Role,
    active_token_ids,
    authenticate,
    check_stations,
    create_token,
    list_tokens,
    require_role,
    revoke_token,
)
from tests.conftest import snapshot


def token(role: Role, stations: list[str] | None = None) -> ApiToken:
    """A token as authenticate returns it, without a store."""
    return ApiToken(7, role, stations, None, datetime(2025, 6, 30, tzinfo=UTC), None)


@pytest.mark.parametrize("role", ROLES)
def test_a_token_is_created_with_its_role_and_a_secret_shown_once(
    memory_engine: Engine, role: Role
) -> None:
    before = datetime.now(UTC)
    created = create_token(memory_engine, role, label=f"{role} of line 1")
    assert created.token.startswith(TOKEN_PREFIX)
    assert len(created.token) > len(TOKEN_PREFIX) + 40
    assert (created.role, created.stations, created.label) == (role, None, f"{role} of line 1")
    assert before <= created.created_at <= datetime.now(UTC)
    assert list_tokens(memory_engine) == [
        ApiToken(created.id, role, None, f"{role} of line 1", created.created_at, None)
    ]


def test_every_token_gets_its_own_id_and_secret(memory_engine: Engine) -> None:
    made = [create_token(memory_engine, "viewer") for _ in range(5)]
    assert len({created.id for created in made}) == 5
    assert len({created.token for created in made}) == 5


def test_secrets_are_stored_only_as_their_sha256(memory_engine: Engine) -> None:
    made = [create_token(memory_engine, role) for role in ROLES]
    stored = repr(snapshot(memory_engine))
    for created in made:
        assert created.token not in stored
        assert created.token[len(TOKEN_PREFIX) :] not in stored
        assert hashlib.sha256(created.token.encode()).hexdigest() in stored


def test_an_operator_token_keeps_its_stations_sorted_once(memory_engine: Engine) -> None:
    created = create_token(memory_engine, "operator", stations=["ga-100", "ga-090", "ga-100"])
    assert created.stations == ["ga-090", "ga-100"]
    assert authenticate(memory_engine, created.token).stations == ["ga-090", "ga-100"]
    assert list_tokens(memory_engine)[0].stations == ["ga-090", "ga-100"]


@pytest.mark.parametrize("role", ["engineer", "admin"])
def test_only_an_operator_token_takes_stations(memory_engine: Engine, role: Role) -> None:
    with pytest.raises(TokenInputError) as caught:
        create_token(memory_engine, role, stations=["ga-090"])
    assert (caught.value.parameter, caught.value.value) == ("stations", ["ga-090"])
    assert list_tokens(memory_engine, include_revoked=True) == []


def test_a_good_secret_authenticates_as_its_token(memory_engine: Engine) -> None:
    create_token(memory_engine, "viewer")
    created = create_token(memory_engine, "engineer", label="line engineer")
    found = authenticate(memory_engine, created.token)
    assert found == ApiToken(
        created.id, "engineer", None, "line engineer", created.created_at, None
    )


@pytest.mark.parametrize(
    "secret",
    [None, "", "ls_unknown", "GOOD_BUT_CHANGED", "GOOD_WITH_SPACE", "REVOKED"],
)
def test_a_missing_unknown_or_revoked_secret_is_refused_with_one_plain_message(
    memory_engine: Engine, secret: str | None
) -> None:
    good = create_token(memory_engine, "admin").token
    revoked = create_token(memory_engine, "admin")
    revoke_token(memory_engine, revoked.id)
    asked = {
        "GOOD_BUT_CHANGED": good[:-1] + ("A" if good[-1] != "A" else "B"),
        "GOOD_WITH_SPACE": good + " ",
        "REVOKED": revoked.token,
    }.get(secret or "", secret)
    with pytest.raises(UnauthorizedError) as caught:
        authenticate(memory_engine, asked)
    assert caught.value.code == "auth.unauthorized"
    assert str(caught.value) == UNAUTHORIZED


def test_the_log_says_why_a_secret_was_refused(
    memory_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    created = create_token(memory_engine, "viewer")
    revoked = revoke_token(memory_engine, created.id)
    with caplog.at_level(logging.DEBUG, logger="linespeed.access.tokens"):
        for secret in (None, "ls_unknown", created.token):
            with pytest.raises(UnauthorizedError):
                authenticate(memory_engine, secret)
    assert [(record.levelname, record.getMessage()) for record in caplog.records] == [
        ("DEBUG", "refused: no bearer token"),
        ("DEBUG", "refused: unknown token"),
        ("INFO", f"refused: token {created.id} was revoked at {revoked.revoked_at}"),
    ]
    assert created.token not in caplog.text


@pytest.mark.parametrize("held", ROLES)
@pytest.mark.parametrize("needed", ROLES)
def test_a_role_may_do_what_it_and_every_lower_role_may(held: Role, needed: Role) -> None:
    if ROLES.index(held) >= ROLES.index(needed):
        require_role(token(held), needed)
        return
    with pytest.raises(ForbiddenError) as caught:
        require_role(token(held), needed)
    assert caught.value.code == "auth.forbidden"
    assert str(caught.value) == f"token 7 is a {held}; this needs {needed} or above"


def test_roles_rank_viewer_operator_engineer_admin() -> None:
    assert ROLES == ("viewer", "operator", "engineer", "admin")


@pytest.mark.parametrize(
    "stations", [[], ["ga-090"], ["ga-100", "ga-090"], ["ga-090", "ga-090", "ga-100"]]
)
def test_a_station_limited_token_may_post_its_stations(stations: list[str | None]) -> None:
    check_stations(token("operator", ["ga-090", "ga-100"]), stations)


@pytest.mark.parametrize(
    ("stations", "named"),
    [
        (["ga-110"], "station 'ga-110'"),
        (["ga-090", "bw-010", "ga-110"], "station 'bw-010'"),
        (["ga-090", None], "an event without a station"),
    ],
)
def test_a_station_limited_token_is_refused_the_first_station_outside_its_own(
    stations: list[str | None], named: str
) -> None:
    with pytest.raises(ForbiddenError) as caught:
        check_stations(token("operator", ["ga-090", "ga-100"]), stations)
    assert str(caught.value) == f"token 7 may post events of ga-090, ga-100 only, not {named}"


@pytest.mark.parametrize("role", ROLES)
def test_a_token_without_stations_may_post_any_station_or_none(role: Role) -> None:
    check_stations(token(role), ["ga-090", "bw-010", None])


def test_an_operator_created_without_stations_is_not_limited(memory_engine: Engine) -> None:
    created = create_token(memory_engine, "operator")
    check_stations(authenticate(memory_engine, created.token), ["ga-090", None])


def test_tokens_are_listed_oldest_first_and_revoked_ones_only_when_asked(
    memory_engine: Engine,
) -> None:
    first, second, third = (create_token(memory_engine, role) for role in ROLES[:3])
    revoked = revoke_token(memory_engine, second.id)
    assert [t.id for t in list_tokens(memory_engine)] == [first.id, third.id]
    listed = list_tokens(memory_engine, include_revoked=True)
    assert [t.id for t in listed] == [first.id, second.id, third.id]
    assert listed[1] == revoked
    assert [t.revoked_at is None for t in listed] == [True, False, True]


def test_an_empty_store_lists_no_tokens(memory_engine: Engine) -> None:
    assert list_tokens(memory_engine) == list_tokens(memory_engine, include_revoked=True) == []


def test_revoking_answers_the_revoked_token_and_twice_keeps_the_first_time(
    memory_engine: Engine,
) -> None:
    created = create_token(memory_engine, "operator", stations=["ga-090"], label="press")
    before = datetime.now(UTC)
    revoked = revoke_token(memory_engine, created.id)
    assert revoked.revoked_at is not None
    assert before - timedelta(seconds=1) <= revoked.revoked_at <= datetime.now(UTC)
    assert (revoked.id, revoked.role, revoked.stations, revoked.label) == (
        created.id,
        "operator",
        ["ga-090"],
        "press",
    )
    again = revoke_token(memory_engine, created.id)
    assert again == revoked
    assert list_tokens(memory_engine, include_revoked=True) == [revoked]


def test_revoking_one_token_leaves_the_others_valid(memory_engine: Engine) -> None:
    kept, gone = create_token(memory_engine, "viewer"), create_token(memory_engine, "viewer")
    revoke_token(memory_engine, gone.id)
    assert authenticate(memory_engine, kept.token).id == kept.id


def test_active_token_ids_answers_the_existing_unrevoked_ones(memory_engine: Engine) -> None:
    live, gone, other = (create_token(memory_engine, "viewer") for _ in range(3))
    revoke_token(memory_engine, gone.id)
    assert active_token_ids(memory_engine, {live.id, gone.id, 999}) == {live.id}
    assert active_token_ids(memory_engine, [other.id, live.id, live.id]) == {live.id, other.id}
    assert active_token_ids(memory_engine, []) == set()
