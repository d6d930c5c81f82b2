"""Engine creation with the per-database settings the store relies on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from sessions.exceptions import ValidationError

SUPPORTED_DRIVERS = frozenset({"sqlite+aiosqlite", "postgresql+asyncpg"})
_SQLITE_PRAGMAS = (
    # First, so that even switching to WAL waits for a busy database instead of failing.
    # Writers queue for the lock for up to 30 s (the driver's default is 5 s, too short on a
    # loaded two-core machine).
    "busy_timeout=30000",
    "journal_mode=WAL",
    "foreign_keys=ON",
    "synchronous=NORMAL",
)


def check_url(url: str) -> str:
    """Refuse URLs of drivers the store does not support (sync drivers would block the loop)."""
    try:
        driver = make_url(url).drivername
    except Exception as exc:  # make_url raises ArgumentError, ValueError, ...
        raise ValidationError(f"not a database URL: {url!r}") from exc
    if driver not in SUPPORTED_DRIVERS:
        raise ValidationError(
            f"database URL must use one of {sorted(SUPPORTED_DRIVERS)}, got {driver!r}"
        )
    return url


def create_engine_for(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; on SQLite with WAL, foreign keys and write-ahead locking set up."""
    engine = create_async_engine(check_url(url), **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    """Take the write lock when a transaction begins.

    With the driver's default deferred transactions, one that reads and then writes fails
    with "database is locked" when another writer committed in between (WAL cannot upgrade
    a stale snapshot), and busy_timeout does not help. BEGIN IMMEDIATE makes transactions
    queue up front instead, which is also what serialises concurrent ticket transitions.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
