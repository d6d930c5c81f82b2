"""Timeline and audit writes inside a caller's transaction (the generic event log API).

Other packages (sessions, recordings, service desk) call these with their own session so
that their rows and the entry describing them commit together.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sessions.exceptions import NotFoundError, ValidationError
from sessions.store.convert import audit_from_row, timeline_from_row
from sessions.store.jsonable import jsonable
from sessions.store.models import AuditRow, TicketRow, TimelineRow
from sessions.store.records import AuditEntry
from sessions.tickets import TimelineEntry


def require_utc(value: datetime, name: str = "now") -> datetime:
    """Refuse naive datetimes: the store only holds instants."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"{name} must be timezone-aware", field=name)
    return value


async def lock_ticket(session: AsyncSession, ticket_id: str) -> TicketRow:
    """Read a ticket row and hold its lock until the transaction ends (FOR UPDATE).

    SQLite has no row locks; there every write transaction holds the database lock from its
    first statement (see engine.py), which serialises the same way.
    """
    stmt = select(TicketRow).where(TicketRow.id == ticket_id).with_for_update()
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"ticket {ticket_id} not found", ticket_id=ticket_id)
    return row


async def append_timeline_entry(
    session: AsyncSession,
    ticket_id: str,
    *,
    actor: str,
    action: str,
    data: Mapping[str, Any] | None,
    now: datetime,
    locked: bool = False,
) -> TimelineEntry:
    """Append one entry with the next ``seq``; pass ``locked`` if the ticket row is held."""
    if not action:
        raise ValidationError("timeline action must not be empty", field="action")
    if not locked:
        # The lock makes max(seq) + 1 safe against a concurrent append to the same ticket.
        await lock_ticket(session, ticket_id)
    last = await session.scalar(
        select(func.max(TimelineRow.seq)).where(TimelineRow.ticket_id == ticket_id)
    )
    row = TimelineRow(
        ticket_id=ticket_id,
        seq=(last or 0) + 1,
        at=require_utc(now),
        actor=actor,
        action=action,
        data=jsonable(dict(data or {})),
    )
    session.add(row)
    await session.flush()
    return timeline_from_row(row)


async def write_audit(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    data: Mapping[str, Any] | None,
    request_id: str | None,
    now: datetime,
) -> AuditEntry:
    """Append one audit entry."""
    row = AuditRow(
        at=require_utc(now),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        data=jsonable(dict(data or {})),
        request_id=request_id,
    )
    session.add(row)
    await session.flush()
    return audit_from_row(row)
