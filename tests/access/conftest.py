"""Every store test here runs on SQLite and on PostgreSQL (see tests/backends.py)."""

from tests.backends import any_db_url, any_memory_engine, backend

__all__ = ["any_db_url", "any_memory_engine", "backend"]
