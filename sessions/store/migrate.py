"""Run the Alembic migrations in sessions/store/migrations programmatically."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Alembic keeps its running context in module globals, so one process migrates one database
# at a time; separate processes are kept apart by the database (see env.py).
_ALEMBIC_LOCK = threading.Lock()


def alembic_config(url: str) -> Config:
    """An Alembic Config for ``url`` without an alembic.ini (env.py reads the URL from it)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Passed as an attribute, not a main option, because ini interpolation mangles '%'.
    config.attributes["url"] = url
    return config


def upgrade_to_heads(url: str) -> None:
    """Bring the database at ``url`` to every head (each package's branch). Blocking."""
    with _ALEMBIC_LOCK:
        command.upgrade(alembic_config(url), "heads")


def downgrade_to_base(url: str) -> None:
    """Drop everything the migrations created. Blocking; for tests and operators."""
    with _ALEMBIC_LOCK:
        command.downgrade(alembic_config(url), "base")
