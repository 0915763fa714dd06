"""Opening a store: engine set-up (SQLite in WAL mode, PostgreSQL), migrations, write locks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, ProgrammingError

from linespeed.environment import db_url, masked_url
from linespeed.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR: Final = Path(__file__).parent / "migrations"
_BEGIN: Final = "linespeed.begin"
_PG_WRITE_LOCK: Final = 0x6C_73_77_6C
"""The first key of the PostgreSQL advisory lock writers take ("lswl")."""


def db_url_from_env(url: str | None = None) -> str:
    """The database URL to use: `url` if given, else LINESPEED_DB, else the SQLite default;
    its password from LINESPEED_DB_PASSWORD_FILE if it names a user but no password.

    Raises EnvironmentVariableError if that file cannot be read.
    """
    return db_url(url)


def connect(url: str) -> Engine:
    """An engine for `url` (SQLite in WAL mode with full sync, or PostgreSQL).

    Raises StoreError if the URL is malformed or names an unsupported database.
    """
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018  (a bad port only shows when read)
    except (ArgumentError, ValueError):
        raise StoreError(f"database URL {masked_url(url)!r} is not a valid URL") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not Path(database).parent.exists():
            raise StoreError(f"database {url!r}: folder {Path(database).parent} does not exist")
        engine = create_engine(parsed, connect_args={"timeout": 60})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if backend == "postgresql":
        engine = create_engine(parsed, pool_pre_ping=True)
        event.listen(engine, "connect", _postgres_on_connect)
        return engine
    shown = parsed.render_as_string(hide_password=True)
    raise StoreError(f"database URL {shown!r}: only sqlite and postgresql are supported")


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide when transactions begin (so writers can
    # take the write lock up front with BEGIN IMMEDIATE).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.execute("PRAGMA cache_size=-131072")  # 128 MiB: index inserts stay in memory
    # Copy the log back into the database every ~40 MiB rather than every 4 MiB: pages
    # that each batch touches again (index leaves, table tails) are then copied once.
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


def _postgres_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Timestamps then come back in UTC already (no conversion per value read).
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'UTC'")
    dbapi_connection.commit()


_SQLITE_FULL: Final = 13
_PG_DISK_FULL: Final = "53100"


def is_disk_full(error: DBAPIError) -> bool:
    """Whether the database refused a write because its disk (or its size limit) is full."""
    orig = error.orig
    return (
        getattr(orig, "sqlite_errorcode", None) == _SQLITE_FULL
        or getattr(orig, "sqlstate", None) == _PG_DISK_FULL
        or "No space left on device" in str(orig)
    )


def store_failure(error: DBAPIError) -> str:
    """What went wrong with the store, in one line for people ("the disk is full", ...)."""
    if is_disk_full(error):
        return "the store's disk is full"
    first = str(error.orig).strip().splitlines()
    return f"the store failed ({type(error.orig).__name__}: {first[0] if first else ''})"


def _sqlite_on_begin(connection: Connection) -> None:
    connection.exec_driver_sql(connection.info.pop(_BEGIN, "BEGIN"))


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the store's write lock from its start; all or nothing.

    Writers to one store take turns, whichever process they run in, so each reads the
    sequence numbers the previous one committed. Readers never wait for the lock.
    """
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.info[_BEGIN] = "BEGIN IMMEDIATE"
        with connection.begin():
            if engine.dialect.name == "postgresql":
                # One lock per schema, so stores side by side in one database do not wait
                # for each other; released at commit or rollback.
                connection.exec_driver_sql(
                    f"SELECT pg_advisory_xact_lock({_PG_WRITE_LOCK}, hashtext(current_schema()))"
                )
            yield connection


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for questions a user waits on: each statement reads the latest commit.

    No transaction is opened, which on PostgreSQL saves the BEGIN and ROLLBACK round trips
    of a read; a question whose statements must see one snapshot uses `engine.connect()`.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        yield connection


def _alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration.

    Raises StoreError if the database cannot be reached or migrated.
    """
    from alembic import command

    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "head")
    except OperationalError as error:
        raise StoreError(f"cannot migrate database {engine.url!r}: {error.orig}") from None


SCHEMA_HEAD: Final = "0018"
"""The newest migration's revision: a store at any other is not up to date. Kept beside the
migrations' own chain (a test checks the two agree) so opening a store needs no Alembic."""


def is_current(engine: Engine) -> bool:
    """Whether the database exists and its schema is at the newest migration."""
    with engine.connect() as connection:
        try:
            current = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        except (OperationalError, ProgrammingError):  # no such table: never initialised
            return False
    return current == [(SCHEMA_HEAD,)]


def open_store(url: str | None = None) -> Engine:
    """An engine on an initialised, up-to-date store.

    Raises StoreError if the database was never set up with `linespeed init` or its
    schema is older than this linespeed (run `linespeed init` to migrate).
    """
    engine = connect(db_url_from_env(url))
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and not Path(database).exists():
        raise StoreError(f"no database at {database}: run `linespeed init` first")
    try:
        current = is_current(engine)
    except OperationalError as error:
        engine.dispose()
        raise StoreError(f"cannot open database {engine.url!r}: {error.orig}") from None
    if not current:
        engine.dispose()
        raise StoreError(
            f"database {engine.url!r} is not initialised or not up to date: run `linespeed init`"
        )
    return engine
