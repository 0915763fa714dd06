"""Stores on both backends: each test gets its own SQLite file or PostgreSQL schema.

The store, ingest, trace and KPI suites import these fixtures in their conftest, so every
test there runs once on SQLite and once on PostgreSQL. PostgreSQL runs need
LINESPEED_TEST_PG_URL (`make test` sets it when the server answers); without it they skip,
except under CI, where a skipped PostgreSQL test is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from linespeed.plant.model import Plant
from tests.conftest import make_store

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.service),
]


def postgres_server_url() -> str:
    """The PostgreSQL server the tests may use; skips (fails under CI) when there is none."""
    url = os.environ.get("LINESPEED_TEST_PG_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("under CI the PostgreSQL tests must run: LINESPEED_TEST_PG_URL is not set")
        pytest.skip("set LINESPEED_TEST_PG_URL to a PostgreSQL URL to run")
    return url


@contextmanager
def postgres_schema_url(prefix: str = "linespeed_test") -> Iterator[str]:
    """The URL of a new, empty PostgreSQL schema (first on the search path); dropped after,
    with the schemas of the store's other plants."""
    server = postgres_server_url()
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            # The store's other plants live in schemas named after it (store.plant_stores).
            plant_schemas = connection.execute(
                text("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, :prefix)"),
                {"prefix": f"{schema}__"},
            ).scalars()
            for name in [schema, *plant_schemas]:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()


@contextmanager
def store_url(backend: str, sqlite_url: str) -> Iterator[str]:
    """A fresh database URL on `backend`: `sqlite_url` for SQLite, a new schema otherwise."""
    if backend == "sqlite":
        yield sqlite_url
    else:
        with postgres_schema_url() as url:
            yield url


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database the test runs on: "sqlite" or "postgresql"."""
    name: str = request.param
    if name == "postgresql":
        postgres_server_url()
    return name


@pytest.fixture(name="db_url")
def any_db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database on the test's backend (not yet migrated)."""
    with store_url(backend, f"sqlite:///{tmp_path / 'linespeed.db'}") as url:
        yield url


@pytest.fixture(name="memory_engine")
def any_memory_engine(backend: str, plant: Plant) -> Iterator[Engine]:
    """A store with the default plant loaded: in memory on SQLite, a schema on PostgreSQL."""
    with store_url(backend, "sqlite://") as url:
        store = make_store(url, plant)
        yield store
        store.dispose()
