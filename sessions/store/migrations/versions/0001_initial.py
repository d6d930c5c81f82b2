"""Initial schema: users, tickets, ticket_timeline, live_sessions, audit_log.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model types: a revision must not change when the models do.
UTC_TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
AUDIT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the tables of the store."""
    op.create_table(
        "users",
        sa.Column("identity", sa.String(128), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("language", sa.String(35), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("identity", name="pk_users"),
    )
    _create_tickets()
    _create_timeline()
    _create_live_sessions()
    _create_audit_log()


def _create_tickets() -> None:
    """tickets and its indexes."""
    op.create_table(
        "tickets",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("requester", sa.String(128), nullable=False),
        sa.Column("language", sa.String(35), nullable=False),
        sa.Column("patient", sa.String(128), nullable=True),
        sa.Column("assignee", sa.String(128), nullable=True),
        sa.Column("device_model", sa.String(200), nullable=True),
        sa.Column("device_serial", sa.String(200), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.Column("response_due_at", UTC_TS, nullable=False),
        sa.Column("resolution_due_at", UTC_TS, nullable=False),
        sa.Column("callback_due_at", UTC_TS, nullable=True),
        sa.Column("first_response_at", UTC_TS, nullable=True),
        sa.Column("resolved_at", UTC_TS, nullable=True),
        sa.Column("callback_done_at", UTC_TS, nullable=True),
        sa.Column("closed_at", UTC_TS, nullable=True),
        sa.Column("targets", JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tickets"),
    )
    op.create_index("ix_tickets_created_at_id", "tickets", ["created_at", "id"])
    for column in ("status", "requester", "patient", "assignee"):
        op.create_index(f"ix_tickets_{column}", "tickets", [column])


def _create_timeline() -> None:
    """ticket_timeline."""
    op.create_table(
        "ticket_timeline",
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", UTC_TS, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name="fk_ticket_timeline_ticket_id_tickets",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", "seq", name="pk_ticket_timeline"),
    )


def _create_live_sessions() -> None:
    """live_sessions."""
    op.create_table(
        "live_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("started_at", UTC_TS, nullable=True),
        sa.Column("ended_at", UTC_TS, nullable=True),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("recording_policy", sa.String(32), nullable=False),
        sa.Column("node", sa.String(128), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name="fk_live_sessions_ticket_id_tickets",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_live_sessions"),
    )
    op.create_index("ix_live_sessions_ticket_id", "live_sessions", ["ticket_id"])


def _create_audit_log() -> None:
    """audit_log."""
    op.create_table(
        "audit_log",
        sa.Column("id", AUDIT_ID, autoincrement=True, nullable=False),
        sa.Column("at", UTC_TS, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(128), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_object", "audit_log", ["object_type", "object_id"])


def downgrade() -> None:
    """Drop the tables of the store."""
    for table in ("audit_log", "live_sessions", "ticket_timeline", "tickets", "users"):
        op.drop_table(table)
