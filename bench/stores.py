"""Stores the benchmarks build once and reuse: the PostgreSQL server and its databases."""

from __future__ import annotations

import os

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

LOCAL_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pg_server(url: str | None) -> str:
    """The PostgreSQL server to use: `url`, else LINESPEED_TEST_PG_URL, else the local one."""
    return url or os.environ.get("LINESPEED_TEST_PG_URL", LOCAL_PG_URL)


def pg_database(server: str, name: str) -> str:
    """The URL of database `name` on `server`, created if it does not exist yet."""
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if exists is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return make_url(server).set(database=name).render_as_string(False)
