"""Service-desk tables on the store's shared Base (listed in sessions/store/registry.py).

Every row references its ticket with ON DELETE CASCADE. Mirrors migration 0002_servicedesk.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sessions.store.models import Base, JsonType

_TICKET_FK = "tickets.id"


class ExpertRow(Base):
    """sd_experts: one validated profile per expert, as its JSON form."""

    __tablename__ = "sd_experts"

    identity: Mapped[str] = mapped_column(String(128), primary_key=True)
    profile: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class SlaMarkRow(Base):
    """sd_sla_marks: an SLA alert already acted on; the primary key makes it happen once."""

    __tablename__ = "sd_sla_marks"

    ticket_id: Mapped[str] = mapped_column(
        String(64), ForeignKey(_TICKET_FK, ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime]
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CallbackRow(Base):
    """sd_callbacks: follow-up calls owed after resolution."""

    __tablename__ = "sd_callbacks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(
        String(64), ForeignKey(_TICKET_FK, ondelete="CASCADE"), index=True
    )
    due_at: Mapped[datetime]
    created_at: Mapped[datetime]
    assignee: Mapped[str | None] = mapped_column(String(128))
    done_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(Text, default="")
    independent: Mapped[bool | None] = mapped_column(Boolean)


class SurveyRow(Base):
    """sd_surveys: one-time survey links (token hashes) and their answers."""

    __tablename__ = "sd_surveys"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(
        String(64), ForeignKey(_TICKET_FK, ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(index=True)
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")


class ComplaintRow(Base):
    """sd_complaints: complaints and their 5-working-day deadline."""

    __tablename__ = "sd_complaints"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(
        String(64), ForeignKey(_TICKET_FK, ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(Text)
    opened_by: Mapped[str] = mapped_column(String(128))
    opened_at: Mapped[datetime]
    due_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    resolution: Mapped[str] = mapped_column(Text, default="")
    overdue_notified_at: Mapped[datetime | None]


class WebhookEndpointRow(Base):
    """sd_webhook_endpoints: receivers, their subscriptions and signing secrets."""

    __tablename__ = "sd_webhook_endpoints"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    events: Mapped[list[str]] = mapped_column(JsonType)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class OutboxRow(Base):
    """sd_outbox: notifications to deliver, delivered, or dead (the dead-letter list)."""

    __tablename__ = "sd_outbox"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(2000))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))
    last_error: Mapped[str] = mapped_column(Text, default="")
    errors: Mapped[list[str]] = mapped_column(JsonType, default=list)
    delivered_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_sd_outbox_status_next", "status", "next_attempt_at"),)
