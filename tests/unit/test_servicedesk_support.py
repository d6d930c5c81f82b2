"""Builders shared by the service-desk tests (no tests of its own)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sessions.servicedesk.catalogue import DEFAULT_CATALOGUE
from sessions.servicedesk.experts import ExpertProfile, make_profile
from sessions.tickets import Device, SlaDeadlines, Ticket, TicketKind, TicketStatus, Tier

#: A Wednesday, mid-morning in UTC.
T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def ticket(
    ticket_id: str,
    *,
    due_in: timedelta = timedelta(hours=1),
    language: str = "en",
    model: str | None = "RehaMove 3",
    kind: TicketKind = TicketKind.DEVICE_FAULT,
    tier: Tier = Tier.ROUTINE,
    created_at: datetime = T0,
    status: TicketStatus = TicketStatus.OPEN,
) -> Ticket:
    """A ticket whose response is due ``due_in`` after T0."""
    return Ticket(
        id=ticket_id,
        kind=kind,
        tier=tier,
        status=status,
        title=f"ticket {ticket_id}",
        requester="clinic-1",
        language=language,
        created_at=created_at,
        updated_at=created_at,
        deadlines=SlaDeadlines(
            response_due_at=created_at + due_in, resolution_due_at=created_at + 4 * due_in
        ),
        device=Device(model, "SN-1") if model else None,
    )


def expert(
    identity: str,
    *,
    skills: tuple[str, ...] = ("fes_cycle",),
    languages: tuple[str, ...] = ("en",),
    capacity: int = 2,
) -> ExpertProfile:
    """An expert in UTC working every day around the clock (duty is tested separately)."""
    all_day = {day: [(time(0), time(23, 59, 59))] for day in range(7)}
    return make_profile(
        DEFAULT_CATALOGUE,
        identity=identity,
        name=identity.title(),
        skills=skills,
        languages=languages,
        timezone="UTC",
        working_hours=all_day,
        capacity=capacity,
    )
