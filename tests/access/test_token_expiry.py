"""Tokens with a lifetime (`token create --expires 90d`) and their last use, on both backends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, update

from linespeed.access.errors import TokenInputError, UnauthorizedError
from linespeed.access.tokens import (
    UNAUTHORIZED,
    active_token_ids,
    authenticate,
    create_token,
    list_tokens,
    parse_lifetime,
)
from linespeed.store.schema import api_tokens
from tests.conftest import Result, cli_runner, make_store


def _expire(engine: Engine, token_id: int) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(api_tokens)
            .where(api_tokens.c.id == token_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )


def test_an_expired_token_is_refused_as_a_revoked_one_and_its_streams_end(
    memory_engine: Engine,
) -> None:
    lasting = create_token(memory_engine, "viewer", expires_in=timedelta(days=90))
    assert lasting.expires_at == lasting.created_at + timedelta(days=90)
    forever = create_token(memory_engine, "viewer")
    assert forever.expires_at is None
    assert authenticate(memory_engine, lasting.token).id == lasting.id
    _expire(memory_engine, lasting.id)
    with pytest.raises(UnauthorizedError) as refused:
        authenticate(memory_engine, lasting.token)
    assert refused.value.message == UNAUTHORIZED
    assert active_token_ids(memory_engine, {lasting.id, forever.id}) == {forever.id}


def test_a_token_remembers_its_last_use_to_the_minute(memory_engine: Engine) -> None:
    created = create_token(memory_engine, "operator")
    assert list_tokens(memory_engine)[0].last_used_at is None
    before = datetime.now(UTC)
    authenticate(memory_engine, created.token)
    (first,) = list_tokens(memory_engine)
    assert first.last_used_at is not None and first.last_used_at >= before
    authenticate(memory_engine, created.token)  # within the minute: not written again
    assert list_tokens(memory_engine)[0].last_used_at == first.last_used_at
    with memory_engine.begin() as connection:
        connection.execute(
            update(api_tokens).values(last_used_at=first.last_used_at - timedelta(minutes=5))
        )
    authenticate(memory_engine, created.token)
    with memory_engine.connect() as connection:
        again = connection.execute(select(api_tokens.c.last_used_at)).scalar_one()
    assert again >= first.last_used_at


@pytest.mark.parametrize(
    ("text", "lifetime"),
    [
        ("90d", timedelta(days=90)),
        ("12h", timedelta(hours=12)),
        ("30m", timedelta(minutes=30)),
        ("2w", timedelta(weeks=2)),
        ("1D", timedelta(days=1)),
    ],
)
def test_lifetimes_are_read_in_minutes_hours_days_and_weeks(text: str, lifetime: timedelta) -> None:
    assert parse_lifetime(text) == lifetime


@pytest.mark.parametrize(
    "text", ["", "d", "0d", "-5d", "1.5d", "90", "90y", "1e309d", "9" * 12 + "d"]
)
def test_a_lifetime_that_is_not_one_is_named(text: str) -> None:
    with pytest.raises(TokenInputError, match="is not a positive whole number") as refused:
        parse_lifetime(text)
    assert refused.value.parameter == "expires"


def test_a_lifetime_past_year_9999_is_refused(memory_engine: Engine) -> None:
    with pytest.raises(TokenInputError, match="reaches past year 9999"):
        create_token(memory_engine, "viewer", expires_in=parse_lifetime("999999w"))
    assert list_tokens(memory_engine, include_revoked=True) == []


def test_the_cli_creates_a_token_with_a_lifetime_and_lists_its_use(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db_url: str, plant: object
) -> None:
    from linespeed.plant.model import Plant

    assert isinstance(plant, Plant)
    make_store(db_url, plant).dispose()
    run: Callable[..., Result] = cli_runner(capsys, monkeypatch)
    created = run(
        "token", "create", "--role", "viewer", "--expires", "90d", "--db", db_url, "--json"
    )
    assert created.exit_code == 0, created.stderr
    made = created.json()
    assert datetime.fromisoformat(made["expires_at"]) - datetime.fromisoformat(
        made["created_at"]
    ) == timedelta(days=90)
    listed = run("token", "list", "--db", db_url, "--json").json()
    assert (listed[0]["expires_at"], listed[0]["last_used_at"]) == (made["expires_at"], None)
    bad = run("token", "create", "--role", "viewer", "--expires", "soon", "--db", db_url)
    assert bad.exit_code == 1
    assert "lifetime 'soon' is not a positive whole number" in bad.stderr
