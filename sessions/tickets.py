"""Service tickets: kinds, tiers, the status machine as a table, and the timeline entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sessions.exceptions import InvalidTransitionError


class TicketKind(StrEnum):
    """What the ticket is about."""

    DEVICE_FAULT = "device_fault"
    GUIDED_EXERCISE = "guided_exercise"
    ONBOARDING = "onboarding"
    CONSULTATION = "consultation"


class Tier(StrEnum):
    """The response tier the after-sales contract promises."""

    URGENT = "urgent"
    ROUTINE = "routine"
    CONSULT = "consult"


class TicketStatus(StrEnum):
    """Where a ticket is in its life."""

    OPEN = "open"
    ASSIGNED = "assigned"
    IN_SESSION = "in_session"
    RESOLVED = "resolved"
    CALLBACK_DONE = "callback_done"
    CLOSED = "closed"
    ESCALATED = "escalated"
    CANCELLED = "cancelled"


_S = TicketStatus

#: Every allowed move, and nothing else. Reopening is allowed until the ticket is closed.
TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    _S.OPEN: frozenset({_S.ASSIGNED, _S.IN_SESSION, _S.ESCALATED, _S.CANCELLED}),
    _S.ASSIGNED: frozenset({_S.OPEN, _S.IN_SESSION, _S.RESOLVED, _S.ESCALATED, _S.CANCELLED}),
    _S.IN_SESSION: frozenset({_S.ASSIGNED, _S.RESOLVED, _S.ESCALATED}),
    _S.ESCALATED: frozenset({_S.ASSIGNED, _S.IN_SESSION, _S.RESOLVED, _S.CANCELLED}),
    _S.RESOLVED: frozenset({_S.CALLBACK_DONE, _S.CLOSED, _S.OPEN}),
    _S.CALLBACK_DONE: frozenset({_S.CLOSED, _S.OPEN}),
    _S.CLOSED: frozenset(),
    _S.CANCELLED: frozenset(),
}

#: Statuses in which the ticket still waits for work (its SLA clocks run).
ACTIVE_STATUSES = frozenset({_S.OPEN, _S.ASSIGNED, _S.IN_SESSION, _S.ESCALATED})


def check_transition(current: TicketStatus, target: TicketStatus) -> None:
    """Raise InvalidTransitionError unless ``current -> target`` is in the table."""
    if target not in TRANSITIONS[current]:
        raise InvalidTransitionError("ticket", current.value, target.value)


@dataclass(frozen=True, slots=True)
class Device:
    """The device a ticket concerns."""

    model: str
    """Manufacturer's model name, e.g. ``RehaMove 3``."""
    serial: str
    """Serial number printed on the device."""


@dataclass(slots=True)
class SlaDeadlines:
    """Deadlines computed when the ticket was opened (and, for the callback, when resolved)."""

    response_due_at: datetime
    """First response (assignment or session start) is due by then."""
    resolution_due_at: datetime
    """Resolution (remote fix, on-site dispatch or, for consults, the answer) is due by then."""
    callback_due_at: datetime | None = None
    """The follow-up call is due by then; set at resolution."""


@dataclass(slots=True)
class Ticket:
    """A service ticket. Mutated only through the store's transition and update operations."""

    id: str
    """``tkt_...``."""
    kind: TicketKind
    """What the ticket is about."""
    tier: Tier
    """Response tier."""
    status: TicketStatus
    """Current status."""
    title: str
    """One line that says what is wrong or wanted."""
    requester: str
    """Identity of who opened it (clinic staff, technician, patient)."""
    language: str
    """BCP 47 tag of the language to serve the requester in (``en``, ``zh-CN``)."""
    created_at: datetime
    """When it was opened (UTC)."""
    updated_at: datetime
    """Last change (UTC)."""
    deadlines: SlaDeadlines
    """SLA deadlines, stored so clocks survive restarts."""
    description: str = ""
    """Free text."""
    device: Device | None = None
    """The device concerned, if any."""
    patient: str | None = None
    """Identity of the patient, for exercise tickets."""
    assignee: str | None = None
    """Identity of the expert who owns it."""
    first_response_at: datetime | None = None
    """When it was first assigned or first went into a session."""
    resolved_at: datetime | None = None
    """When it was last resolved."""
    callback_done_at: datetime | None = None
    """When the follow-up call was done."""
    closed_at: datetime | None = None
    """When it was closed or cancelled."""
    targets: dict[str, Any] = field(default_factory=dict)
    """Per-patient exercise targets set by the therapist, keyed by exercise name."""
    version: int = 1
    """Optimistic-concurrency counter, bumped on every write."""


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One thing that happened to a ticket: who did what, when."""

    ticket_id: str
    """The ticket."""
    at: datetime
    """When (UTC)."""
    actor: str
    """Identity that caused it (``system`` for the scheduler)."""
    action: str
    """Stable verb: ``created``, ``updated``, ``status_changed``, ``session_joined``, ..."""
    data: dict[str, Any] = field(default_factory=dict)
    """Details, JSON-serialisable."""
    seq: int = 0
    """Position in the ticket's timeline (assigned by the store)."""
