"""Engine set-up and migrations."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from linespeed.errors import StoreError
from linespeed.store.engine import (
    MIGRATIONS_DIR,
    SCHEMA_HEAD,
    connect,
    is_current,
    migrate,
    open_store,
)
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


def test_schema_head_is_the_newest_migration() -> None:
    assert ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head() == SCHEMA_HEAD


def test_open_store_refuses_a_store_one_migration_behind(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0011'"))
    assert not is_current(engine)
    with pytest.raises(StoreError, match="not up to date"):
        open_store(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE alembic_version SET version_num = '{SCHEMA_HEAD}'"))
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
