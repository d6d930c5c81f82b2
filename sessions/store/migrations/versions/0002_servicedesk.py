"""Service desk: experts, SLA marks, callbacks, surveys, complaints, webhooks, outbox.

Revision ID: 0002_servicedesk
Revises: 0001_initial
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_servicedesk"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model types: a revision must not change when the models do.
UTC_TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ticket_fk(table: str) -> sa.ForeignKeyConstraint:
    """The cascading reference to the ticket every service-desk row belongs to."""
    return sa.ForeignKeyConstraint(
        ["ticket_id"], ["tickets.id"], name=f"fk_{table}_ticket_id_tickets", ondelete="CASCADE"
    )


def upgrade() -> None:
    """Create the service-desk tables."""
    op.create_table(
        "sd_experts",
        sa.Column("identity", sa.String(128), nullable=False),
        sa.Column("profile", JSON, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("identity", name="pk_sd_experts"),
    )
    op.create_table(
        "sd_sla_marks",
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("at", UTC_TS, nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", "key", name="pk_sd_sla_marks"),
        _ticket_fk("sd_sla_marks"),
    )
    _create_aftercare()
    _create_notifications()


def _create_aftercare() -> None:
    """sd_callbacks, sd_surveys, sd_complaints."""
    op.create_table(
        "sd_callbacks",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("due_at", UTC_TS, nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("assignee", sa.String(128), nullable=True),
        sa.Column("done_at", UTC_TS, nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("independent", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sd_callbacks"),
        _ticket_fk("sd_callbacks"),
    )
    op.create_index("ix_sd_callbacks_ticket_id", "sd_callbacks", ["ticket_id"])
    op.create_table(
        "sd_surveys",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("expires_at", UTC_TS, nullable=False),
        sa.Column("used_at", UTC_TS, nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name="pk_sd_surveys"),
        _ticket_fk("sd_surveys"),
    )
    op.create_index("ix_sd_surveys_ticket_id", "sd_surveys", ["ticket_id"])
    op.create_index("ix_sd_surveys_used_at", "sd_surveys", ["used_at"])
    op.create_table(
        "sd_complaints",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("opened_by", sa.String(128), nullable=False),
        sa.Column("opened_at", UTC_TS, nullable=False),
        sa.Column("due_at", UTC_TS, nullable=False),
        sa.Column("closed_at", UTC_TS, nullable=True),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("overdue_notified_at", UTC_TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sd_complaints"),
        _ticket_fk("sd_complaints"),
    )
    op.create_index("ix_sd_complaints_ticket_id", "sd_complaints", ["ticket_id"])


def _create_notifications() -> None:
    """sd_webhook_endpoints and sd_outbox."""
    op.create_table(
        "sd_webhook_endpoints",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("events", JSON, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sd_webhook_endpoints"),
    )
    op.create_table(
        "sd_outbox",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(2000), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("next_attempt_at", UTC_TS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("errors", JSON, nullable=False),
        sa.Column("delivered_at", UTC_TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sd_outbox"),
    )
    op.create_index("ix_sd_outbox_status_next", "sd_outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    """Drop the service-desk tables."""
    for table in (
        "sd_outbox",
        "sd_webhook_endpoints",
        "sd_complaints",
        "sd_surveys",
        "sd_callbacks",
        "sd_sla_marks",
        "sd_experts",
    ):
        op.drop_table(table)
