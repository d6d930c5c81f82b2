"""Recording tables on the store's shared Base (listed in sessions/store/registry.py).

Mirrors migration 0003_recordings. The files live on disk under the recordings root; these
rows are what a ticket lists and what the retention job scans. A ticket with recordings
cannot be deleted (no cascade): its files must be purged first, with an audit entry, so
no health data is left on disk without a row that points at it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sessions.store.models import Base


class RecordingRow(Base):
    """recordings: one per recorded session (policy metrics_only or full)."""

    __tablename__ = "recordings"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(64), ForeignKey("tickets.id"))
    session_id: Mapped[str] = mapped_column(String(64))
    ticket_kind: Mapped[str] = mapped_column(String(32))
    policy: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    directory: Mapped[str] = mapped_column(String(512))
    encrypted: Mapped[bool] = mapped_column(Boolean, default=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    tracks: Mapped[dict[str, Any]] = mapped_column(default=dict)
    deleted_at: Mapped[datetime | None]
    deleted_by: Mapped[str | None] = mapped_column(String(128))

    __table_args__ = (
        Index("ix_recordings_ticket_id", "ticket_id"),
        Index("ix_recordings_session_id", "session_id"),
        Index("ix_recordings_state_ended_at", "state", "ended_at"),
    )


class RecordingExportRow(Base):
    """recording_exports: annotated MP4 export jobs and where their output is."""

    __tablename__ = "recording_exports"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    recording_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("recordings.id", ondelete="CASCADE")
    )
    requested_by: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    output: Mapped[str] = mapped_column(String(512))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_recording_exports_recording_id", "recording_id"),)
