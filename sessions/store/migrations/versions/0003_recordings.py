"""Recordings: one row per recorded session, and annotated-export jobs.

Revision ID: 0003_recordings
Revises: 0001_initial
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_recordings"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model types: a revision must not change when the models do.
UTC_TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Create recordings and recording_exports."""
    op.create_table(
        "recordings",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("ticket_kind", sa.String(32), nullable=False),
        sa.Column("policy", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("started_at", UTC_TS, nullable=False),
        sa.Column("ended_at", UTC_TS, nullable=True),
        sa.Column("directory", sa.String(512), nullable=False),
        sa.Column("encrypted", sa.Boolean(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("tracks", JSON, nullable=False),
        sa.Column("deleted_at", UTC_TS, nullable=True),
        sa.Column("deleted_by", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_recordings"),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_recordings_ticket_id_tickets"
        ),
    )
    op.create_index("ix_recordings_ticket_id", "recordings", ["ticket_id"])
    op.create_index("ix_recordings_session_id", "recordings", ["session_id"])
    op.create_index("ix_recordings_state_ended_at", "recordings", ["state", "ended_at"])
    op.create_table(
        "recording_exports",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("recording_id", sa.String(64), nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("output", sa.String(512), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("finished_at", UTC_TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_recording_exports"),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recordings.id"],
            name="fk_recording_exports_recording_id_recordings",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_recording_exports_recording_id", "recording_exports", ["recording_id"])


def downgrade() -> None:
    """Drop recording_exports and recordings."""
    op.drop_index("ix_recording_exports_recording_id", table_name="recording_exports")
    op.drop_table("recording_exports")
    op.drop_index("ix_recordings_state_ended_at", table_name="recordings")
    op.drop_index("ix_recordings_session_id", table_name="recordings")
    op.drop_index("ix_recordings_ticket_id", table_name="recordings")
    op.drop_table("recordings")
