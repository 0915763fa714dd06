"""Engine set-up and migrations."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from linespeed.errors import StoreError
from linespeed.store.engine import connect, is_current, migrate, open_store
from linespeed.store.schema import metadata


def test_migrations_give_exactly_the_schema_in_code(engine: Engine) -> None:
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []


def test_sqlite_store_runs_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2
    engine.dispose()


def test_migrate_twice_is_harmless(engine: Engine) -> None:
    migrate(engine)
    assert is_current(engine)


def test_open_store_refuses_an_uninitialised_database(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="linespeed init"):
        open_store(f"sqlite:///{tmp_path / 'empty.db'}")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("nonsense", "not a valid URL"),
        ("mysql://localhost/x", "only sqlite and postgresql"),
        ("sqlite:////no/such/folder/x.db", "does not exist"),
        ("postgresql://u:secret@h:abc/x", "not a valid URL"),
        ("mysql://u:secret@h/x", "only sqlite and postgresql"),
    ],
)
def test_bad_database_urls_are_named(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message) as raised:
        connect(url)
    assert "secret" not in str(raised.value)
