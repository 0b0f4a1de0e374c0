"""The database: one async SQLAlchemy engine (SQLite via aiosqlite in embedded mode,
PostgreSQL via asyncpg in distributed mode) and the Alembic migrations that bring it to
the current schema.

URLs: `sqlite:///./tradewind.db`, `sqlite:///:memory:`, `postgresql://user@host/db`
(the async drivers are filled in). PostgreSQL over TLS: `?sslmode=verify-full` (the
server's certificate and name checked), with `sslrootcert`, `sslcert` and `sslkey` files
in the URL or, through the settings, `TRADEWIND_TLS_*` (see `tradewind.security.transport`).

A primary with standbys: list them all, as libpq does,
`postgresql://user@h1:5432,h2:5432/db?target_session_attrs=read-write`; a connection
tries the hosts in order and keeps the first that takes writes (`read-write` is the
default when several hosts are named: this is the system of record). After a failover
(a standby promoted by Patroni, pg_auto_failover or an operator) the pool tests each
connection before use (`pool_pre_ping`): a dead one is dropped, with every connection
made before it, and the next connects to whichever host is the primary now. A
transaction that was running on the old primary fails; it is not retried here.

A SQLite database file holds password hashes and encrypted exchange keys: it is created
mode 0600 (owner only), and SQLite gives its -wal and -shm files the same mode.

Every time stored is UTC, but SQLite hands datetimes back naive: the store's modules read
them through `as_utc` (an aware datetime) or `ns_of` (ns since the epoch), here once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import ssl
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeAlias, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from tradewind.domain.time_units import ns_from_datetime
from tradewind.errors import ConfigError
from tradewind.security.transport import PG_TLS_PARAMETERS, postgres_ssl

T = TypeVar("T")

#: A connection to the system of record, reading or in a transaction: what every
#: function of `tradewind.store` takes. Code outside the store names it by this alias,
#: so that only the store imports SQLAlchemy.
Connection: TypeAlias = AsyncConnection

MIGRATIONS = Path(__file__).parent / "migrations"
#: The advisory lock (a 64-bit key, "tradewnd" in ASCII) held while migrating PostgreSQL.
MIGRATION_LOCK = 0x7472616465776E64


def async_url(url: str) -> str:
    """`url` with the async driver of its database; ConfigError for anything else."""
    parsed = make_url(_hosts_in_query(url))
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite"))
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ConfigError(
        "TRADEWIND_DATABASE_URL",
        f"unsupported database {backend!r}; use sqlite:///PATH or postgresql://HOST/DB",
    )


def sqlite_path(url: str) -> str | None:
    """The SQLite database's file path, "" for an in-memory one, None if not SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    return "" if database in ("", ":memory:") or database.startswith("file:") else database


def postgres_tls(url: str) -> tuple[str, ssl.SSLContext | str | None]:
    """A PostgreSQL URL without its TLS parameters (asyncpg takes none of them as
    keywords) and asyncpg's `ssl` argument they make; ConfigError for unreadable files."""
    parsed = make_url(url)
    query = {k: v for k, v in parsed.query.items() if isinstance(v, str)}
    rest = {k: v for k, v in parsed.query.items() if k not in PG_TLS_PARAMETERS}
    try:
        tls = postgres_ssl(query)
    except (OSError, ssl.SSLError) as exc:
        files = [query[k] for k in ("sslrootcert", "sslcert", "sslkey") if k in query]
        raise ConfigError(
            "TRADEWIND_DATABASE_URL",
            f"cannot load the PostgreSQL TLS files {', '.join(files) or '(system CAs)'}: {exc}",
        ) from None
    return parsed.set(query=rest).render_as_string(hide_password=False), tls


def as_utc(moment: datetime) -> datetime:
    """The moment with its zone: SQLite hands back naive datetimes (and a client may send
    one); everything stored is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def ns_of(moment: datetime) -> int:
    """ns since the epoch of a time read back from the database."""
    return ns_from_datetime(as_utc(moment))


#: Ids per `IN (...)` list: well under every driver's bind-parameter limit (SQLite's
#: 32,766, asyncpg's 32,767), yet few round trips.
IN_LIST_SIZE = 500


def in_chunks(ids: Sequence[T]) -> Iterator[Sequence[T]]:
    """`ids` in slices of `IN_LIST_SIZE`, one per `IN (...)` query."""
    for start in range(0, len(ids), IN_LIST_SIZE):
        yield ids[start : start + IN_LIST_SIZE]


class Database:
    """The system of record. Use `transaction()` for writes (one commit, or none)."""

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        """`schema`: a PostgreSQL schema to live in (tests use a fresh one each run)."""
        self.url = engine_url = async_url(url)
        options: dict[str, Any] = {}
        if self.url.startswith("sqlite"):
            if ":memory:" in self.url or self.url.endswith("sqlite+aiosqlite://"):
                options["poolclass"] = StaticPool  # one shared in-memory database
            else:
                _create_private_file(make_url(self.url).database or "")
        else:
            options["pool_pre_ping"] = True
            connect_args: dict[str, Any] = {}
            engine_url, tls = postgres_tls(self.url)
            if tls is not None:
                connect_args["ssl"] = tls
            if schema is not None:
                connect_args["server_settings"] = {"search_path": schema}
            options["connect_args"] = connect_args
        self.engine: AsyncEngine = create_async_engine(engine_url, **options)
        if self.url.startswith("sqlite"):
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent). On PostgreSQL the
        migration runs under a transaction-level advisory lock, so processes started at
        once migrate one after the other (the later ones find nothing to do) instead of
        racing to create the same tables; on SQLite the database's write lock does it."""
        logging.getLogger("alembic").setLevel(logging.WARNING)  # not one line per start
        async with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            await conn.run_sync(_upgrade)

    async def revision(self) -> str | None:
        """The schema's current migration (None before the first)."""
        async with self.engine.connect() as conn:
            return await conn.run_sync(_current_revision)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A connection in a transaction: committed on exit, rolled back on error."""
        async with self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        async with self.engine.connect() as conn:
            yield conn

    async def close(self) -> None:
        await self.engine.dispose()


def _hosts_in_query(url: str) -> str:
    """A PostgreSQL URL naming several hosts (`h1:5432,h2:5433`, libpq's form, which
    SQLAlchemy cannot parse) with them as `?host=h1:5432&host=h2:5433` instead (the form
    its asyncpg dialect hands to asyncpg as lists), and `target_session_attrs=read-write`
    unless the URL says otherwise; any other URL unchanged."""
    parts = urlsplit(url)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    if not parts.scheme.startswith("postgres") or "," not in hosts:
        return url
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [("host", host) for host in hosts.split(",") if host]
    if "target_session_attrs" not in dict(query):
        query.append(("target_session_attrs", "read-write"))
    return urlunsplit(parts._replace(netloc=userinfo + at, query=urlencode(query, safe="/")))


def _create_private_file(path: str) -> None:
    """Create the SQLite file `path` with mode 0600 if it does not exist yet. SQLite
    would create it with the process's umask (often 0644: readable by every user), and
    makes its -wal and -shm companions with the database file's own mode."""
    if not path or path.startswith("file:"):
        return  # a URI filename: SQLite parses it, not us
    # An existing file is left as it is; any other failure SQLite reports when it opens.
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _current_revision(sync_connection: Any) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(sync_connection).get_current_revision()


def _upgrade(sync_connection: Any) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = sync_connection
    command.upgrade(config, "head")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
