"""Plant tests that ingest run on SQLite and on PostgreSQL (see tests/backends.py)."""

from tests.backends import any_db_url, backend

__all__ = ["any_db_url", "backend"]
