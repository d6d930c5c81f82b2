"""Alembic environment: online migrations for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from sessions.store.engine import create_engine_for
from sessions.store.models import Base
from sessions.store.registry import import_table_modules

# Every package's tables must be on Base.metadata before Alembic compares or creates them.
import_table_modules()
config = context.config
target_metadata = Base.metadata
#: Arbitrary constant naming TeleGuide's migration lock on PostgreSQL.
_PG_MIGRATION_LOCK = 0x7E1E6D1


def _url() -> str:
    """The database URL, from Store.migrate() or from an alembic.ini."""
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL given to the migrations")
    return str(url)


def _run(connection: Connection) -> None:
    """Run the migrations on one connection."""
    if connection.dialect.name == "postgresql":
        # Nodes that start together must not migrate together; the lock ends with the
        # transaction. (On SQLite, BEGIN IMMEDIATE already serialises them.)
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # SQLite does run DDL in transactions once the driver stops managing them (engine.py);
        # one transaction for the whole upgrade is what keeps concurrent migrators apart.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(engine: AsyncEngine) -> None:
    """Migrate through ``engine``, then dispose of it."""
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def _run_online() -> None:
    """Do the disk work first, then run the database work on a private event loop.

    Engine creation (SQLite resolves the file path) and loading the revision files are
    blocking; done before the loop starts, nothing blocking runs on it.
    """
    engine = create_engine_for(_url(), poolclass=pool.NullPool)
    context.script.revision_map.get_revisions("heads")
    asyncio.run(_run_async(engine))


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    # Store.migrate() runs this in a worker thread, which has no event loop of its own.
    _run_online()
