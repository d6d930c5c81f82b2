"""Wire models of the ticket API: they validate requests and generate the OpenAPI schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sessions.tickets import Device, Ticket, TicketKind, TicketStatus, Tier, TimelineEntry

Identity = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^\S+$")]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


class Strict(BaseModel):
    """Base of request models: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class DeviceIn(Strict):
    """The device a ticket concerns."""

    model: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    serial: Annotated[str, StringConstraints(min_length=1, max_length=120)]


class ExerciseTarget(Strict):
    """A therapist's target for one exercise."""

    target_angle: float | None = Field(None, ge=0, le=180, description="Degrees to reach.")
    reps: int | None = Field(None, ge=1, le=500, description="Repetitions per set.")
    sets: int | None = Field(None, ge=1, le=50, description="Sets per session.")


class TicketCreate(Strict):
    """Body of POST /api/tickets."""

    kind: TicketKind
    tier: Tier
    title: Title
    description: Annotated[str, StringConstraints(max_length=10_000)] = ""
    device: DeviceIn | None = None
    requester: Identity | None = Field(
        None, description="Who asks for help; staff may open tickets on behalf of others."
    )
    patient: Identity | None = None
    language: Language = "en"
    targets: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=64)], ExerciseTarget
    ] = Field(default_factory=dict)


class TicketUpdate(Strict):
    """Body of PATCH /api/tickets/{ticket_id}: only the fields present change."""

    title: Title | None = None
    description: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    device: DeviceIn | None = None
    patient: Identity | None = None
    language: Language | None = None
    assignee: Identity | None = None
    targets: (
        dict[Annotated[str, StringConstraints(min_length=1, max_length=64)], ExerciseTarget] | None
    ) = None
    expected_version: int | None = Field(
        None, ge=1, description="Refuse the update (409) if the ticket changed since this version."
    )


class TicketTransition(Strict):
    """Body of POST /api/tickets/{ticket_id}/transition."""

    status: TicketStatus
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class TicketQuery(Strict):
    """Query of GET /api/tickets."""

    status: TicketStatus | None = None
    tier: Tier | None = None
    kind: TicketKind | None = None
    assignee: Identity | None = None
    limit: int = Field(50, ge=1, le=200)
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None


class DeviceOut(BaseModel):
    """A device."""

    model: str
    serial: str


class SlaClockOut(BaseModel):
    """One SLA clock of a ticket at the time of the response."""

    due_at: datetime | None
    state: str
    remaining_s: float | None


class TicketOut(BaseModel):
    """A ticket as the API shows it, with its SLA state now."""

    id: str
    kind: TicketKind
    tier: Tier
    status: TicketStatus
    title: str
    description: str
    device: DeviceOut | None
    requester: str
    patient: str | None
    language: str
    assignee: str | None
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    callback_done_at: datetime | None
    closed_at: datetime | None
    targets: dict[str, Any]
    version: int
    sla: dict[str, SlaClockOut]
    sla_state: str


class TicketPage(BaseModel):
    """A page of tickets; pass ``next_cursor`` as ``cursor`` for the next one."""

    items: list[TicketOut]
    next_cursor: str | None


class TimelineEntryOut(BaseModel):
    """One entry of a ticket's timeline."""

    seq: int
    at: datetime
    actor: str
    action: str
    data: dict[str, Any]


def device_from(model: DeviceIn | None) -> Device | None:
    """Domain device of a request model."""
    return None if model is None else Device(model=model.model, serial=model.serial)


def timeline_out(entry: TimelineEntry) -> TimelineEntryOut:
    """Wire form of a timeline entry."""
    return TimelineEntryOut(
        seq=entry.seq, at=entry.at, actor=entry.actor, action=entry.action, data=entry.data
    )


def ticket_out(ticket: Ticket, sla: dict[str, SlaClockOut], overall: str) -> TicketOut:
    """Wire form of a ticket and its SLA clocks."""
    device = (
        None
        if ticket.device is None
        else DeviceOut(model=ticket.device.model, serial=ticket.device.serial)
    )
    return TicketOut(
        id=ticket.id,
        kind=ticket.kind,
        tier=ticket.tier,
        status=ticket.status,
        title=ticket.title,
        description=ticket.description,
        device=device,
        requester=ticket.requester,
        patient=ticket.patient,
        language=ticket.language,
        assignee=ticket.assignee,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        first_response_at=ticket.first_response_at,
        resolved_at=ticket.resolved_at,
        callback_done_at=ticket.callback_done_at,
        closed_at=ticket.closed_at,
        targets=ticket.targets,
        version=ticket.version,
        sla=sla,
        sla_state=overall,
    )
