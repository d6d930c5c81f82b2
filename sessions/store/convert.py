"""Rows to domain records and back; the ORM rows never leave the store."""

from __future__ import annotations

from typing import Any

from sessions.store.models import AuditRow, LiveSessionRow, TicketRow, TimelineRow, UserRow
from sessions.store.records import AuditEntry, SessionRecord, User
from sessions.tickets import (
    Device,
    SlaDeadlines,
    Ticket,
    TicketKind,
    TicketStatus,
    Tier,
    TimelineEntry,
)


def ticket_from_row(row: TicketRow) -> Ticket:
    """The domain ticket of a row."""
    device = None
    if row.device_model is not None or row.device_serial is not None:
        device = Device(model=row.device_model or "", serial=row.device_serial or "")
    return Ticket(
        id=row.id,
        kind=TicketKind(row.kind),
        tier=Tier(row.tier),
        status=TicketStatus(row.status),
        title=row.title,
        requester=row.requester,
        language=row.language,
        created_at=row.created_at,
        updated_at=row.updated_at,
        deadlines=SlaDeadlines(
            response_due_at=row.response_due_at,
            resolution_due_at=row.resolution_due_at,
            callback_due_at=row.callback_due_at,
        ),
        description=row.description,
        device=device,
        patient=row.patient,
        assignee=row.assignee,
        first_response_at=row.first_response_at,
        resolved_at=row.resolved_at,
        callback_done_at=row.callback_done_at,
        closed_at=row.closed_at,
        targets=dict(row.targets or {}),
        version=row.version,
    )


def ticket_columns(ticket: Ticket) -> dict[str, Any]:
    """Column values of a ticket, except ``version`` (the ORM owns it)."""
    return {
        "id": ticket.id,
        "kind": ticket.kind.value,
        "tier": ticket.tier.value,
        "status": ticket.status.value,
        "title": ticket.title,
        "description": ticket.description,
        "requester": ticket.requester,
        "language": ticket.language,
        "patient": ticket.patient,
        "assignee": ticket.assignee,
        "device_model": None if ticket.device is None else ticket.device.model,
        "device_serial": None if ticket.device is None else ticket.device.serial,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "response_due_at": ticket.deadlines.response_due_at,
        "resolution_due_at": ticket.deadlines.resolution_due_at,
        "callback_due_at": ticket.deadlines.callback_due_at,
        "first_response_at": ticket.first_response_at,
        "resolved_at": ticket.resolved_at,
        "callback_done_at": ticket.callback_done_at,
        "closed_at": ticket.closed_at,
        # A new dict each time, so the ORM sees the change (it does not track mutation).
        "targets": dict(ticket.targets),
    }


def timeline_from_row(row: TimelineRow) -> TimelineEntry:
    """The domain entry of a timeline row."""
    return TimelineEntry(
        ticket_id=row.ticket_id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        data=dict(row.data or {}),
        seq=row.seq,
    )


def user_from_row(row: UserRow) -> User:
    """The record of a user row."""
    return User(
        identity=row.identity,
        display_name=row.display_name,
        role=row.role,
        language=row.language,
        email=row.email,
        created_at=row.created_at,
    )


def session_from_row(row: LiveSessionRow) -> SessionRecord:
    """The record of a live_sessions row."""
    return SessionRecord(
        id=row.id,
        ticket_id=row.ticket_id,
        kind=row.kind,
        state=row.state,
        created_at=row.created_at,
        created_by=row.created_by,
        recording_policy=row.recording_policy,
        started_at=row.started_at,
        ended_at=row.ended_at,
        node=row.node,
    )


def audit_from_row(row: AuditRow) -> AuditEntry:
    """The record of an audit_log row."""
    return AuditEntry(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        data=dict(row.data or {}),
        request_id=row.request_id,
    )
