"""Which SLA alerts a ticket owes right now, sans I/O: the scheduler's decision, tested alone.

An alert is keyed by ``(clock, state)``; the scheduler stores the keys it has acted on, so
each at-risk notice and each breach escalation happens once, however often it looks.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sessions.sla import ClockState, ClockStatus, SlaPolicy, sla_state
from sessions.tickets import ACTIVE_STATUSES, Ticket, TicketStatus


class SlaClock(StrEnum):
    """The three clocks a ticket has."""

    RESPONSE = "response"
    RESOLUTION = "resolution"
    CALLBACK = "callback"


class AlertKind(StrEnum):
    """What the scheduler does about a clock."""

    AT_RISK = "at_risk"
    """75% of the window gone: notify the supervisor."""
    BREACHED = "breached"
    """Deadline passed: escalate (or, for the callback, notify)."""


@dataclass(frozen=True, slots=True)
class SlaAlert:
    """One thing the scheduler has to do for one ticket."""

    ticket_id: str
    """The ticket."""
    clock: SlaClock
    """Which clock."""
    kind: AlertKind
    """At risk or breached."""
    due_at: datetime
    """The clock's deadline."""
    escalate: bool
    """True when the ticket should move to ``escalated`` (it is active and not already)."""

    @property
    def key(self) -> str:
        """The marker stored once the alert was handled, e.g. ``response:breached``."""
        return f"{self.clock.value}:{self.kind.value}"


def _clocks(ticket: Ticket, now: datetime, policy: SlaPolicy) -> dict[SlaClock, ClockStatus]:
    state = sla_state(ticket, now, policy)
    return {
        SlaClock.RESPONSE: state.response,
        SlaClock.RESOLUTION: state.resolution,
        SlaClock.CALLBACK: state.callback,
    }


def due_alerts(
    ticket: Ticket, now: datetime, policy: SlaPolicy, handled: Collection[str] = ()
) -> list[SlaAlert]:
    """The alerts ``ticket`` owes at ``now`` that are not in ``handled`` (marker keys).

    Only running clocks alert: a clock stopped late was dealt with by whoever stopped it.
    A clock found already breached (the scheduler was down) skips its stale at-risk notice.
    """
    if ticket.status in (TicketStatus.CLOSED, TicketStatus.CANCELLED):
        return []
    alerts: list[SlaAlert] = []
    escalating = False
    for clock, status in _clocks(ticket, now, policy).items():
        if status.stopped_at is not None or status.due_at is None:
            continue
        if status.state is ClockState.BREACHED:
            kind = AlertKind.BREACHED
        elif status.state is ClockState.AT_RISK:
            kind = AlertKind.AT_RISK
        else:
            continue
        alert = _alert(ticket, clock, kind, status.due_at, escalating)
        if alert.key not in handled:
            escalating = escalating or alert.escalate
            alerts.append(alert)
    return alerts


def _alert(
    ticket: Ticket, clock: SlaClock, kind: AlertKind, due_at: datetime, escalating: bool
) -> SlaAlert:
    # Only work clocks escalate; a late callback is a reminder. One transition per pass.
    escalate = (
        kind is AlertKind.BREACHED
        and clock is not SlaClock.CALLBACK
        and ticket.status in ACTIVE_STATUSES
        and ticket.status is not TicketStatus.ESCALATED
        and not escalating
    )
    return SlaAlert(ticket.id, clock, kind, due_at, escalate)
