"""The store: SQLAlchemy 2 async on SQLite (default) or PostgreSQL, with Alembic migrations."""

from __future__ import annotations

from sessions.store.records import AuditEntry, SessionRecord, User
from sessions.store.repository import Store

__all__ = ["AuditEntry", "SessionRecord", "Store", "User"]
