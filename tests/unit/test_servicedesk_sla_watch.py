"""Which SLA alerts a ticket owes: at risk at 75%, breach escalates once, callbacks remind."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from sessions.calendar import BusinessCalendar
from sessions.servicedesk.sla_watch import AlertKind, SlaClock, due_alerts
from sessions.sla import SlaPolicy
from sessions.tickets import Ticket, TicketStatus, Tier
from tests.unit.test_servicedesk_support import T0, ticket

pytestmark = pytest.mark.servicedesk

POLICY = SlaPolicy.from_config({}, BusinessCalendar())  # urgent: 1h / 24h / 2h wall clock
M = timedelta(minutes=1)


def urgent() -> Ticket:
    """An urgent ticket opened at T0 with the policy's deadlines."""
    t = ticket("tkt_u", tier=Tier.URGENT)
    t.deadlines = POLICY.deadlines_for(Tier.URGENT, T0)
    return t


def keys(t: Ticket, minutes: int, handled: tuple[str, ...] = ()) -> list[tuple[str, str, bool]]:
    """(clock, kind, escalate) of the alerts due ``minutes`` after T0."""
    return [
        (a.clock.value, a.kind.value, a.escalate)
        for a in due_alerts(t, T0 + minutes * M, POLICY, handled)
    ]


def test_nothing_before_three_quarters_of_the_window() -> None:
    """44 minutes into a one-hour window the ticket is on track."""
    assert keys(urgent(), 44) == []


def test_at_risk_at_75_percent_then_breach_escalates() -> None:
    """At 45 minutes: at risk; after 60: breached and escalate."""
    t = urgent()
    assert keys(t, 45) == [("response", "at_risk", False)]
    assert keys(t, 61, ("response:at_risk",)) == [("response", "breached", True)]


def test_handled_markers_make_alerts_one_shot() -> None:
    """Once both response markers are stored, nothing more is owed for that clock."""
    assert keys(urgent(), 61, ("response:at_risk", "response:breached")) == []


def test_found_breached_skips_the_stale_at_risk_notice() -> None:
    """A scheduler that was down finds the breach only."""
    assert keys(urgent(), 120) == [("response", "breached", True)]


def test_two_breaches_in_one_pass_escalate_once() -> None:
    """Response and resolution both breached: one transition, two alerts."""
    alerts = due_alerts(urgent(), T0 + timedelta(hours=30), POLICY)
    assert [(a.clock, a.kind) for a in alerts] == [
        (SlaClock.RESPONSE, AlertKind.BREACHED),
        (SlaClock.RESOLUTION, AlertKind.BREACHED),
    ]
    assert [a.escalate for a in alerts] == [True, False]


def test_escalated_ticket_is_not_escalated_again() -> None:
    """A resolution breach on an already escalated ticket notifies without a transition."""
    t = replace(urgent(), status=TicketStatus.ESCALATED, first_response_at=T0 + 10 * M)
    assert keys(t, 25 * 60, ("resolution:at_risk",)) == [("resolution", "breached", False)]


def test_stopped_clock_owes_nothing() -> None:
    """A response given in time stops the clock."""
    t = replace(urgent(), status=TicketStatus.ASSIGNED, first_response_at=T0 + 10 * M)
    assert keys(t, 61) == []


def test_late_callback_reminds_without_escalating() -> None:
    """The callback clock runs from resolution; late, it reminds (resolved cannot escalate)."""
    t = replace(
        urgent(),
        status=TicketStatus.RESOLVED,
        first_response_at=T0 + 10 * M,
        resolved_at=T0 + 60 * M,
    )
    t.deadlines.callback_due_at = POLICY.callback_due(Tier.URGENT, T0 + 60 * M)
    assert keys(t, 60 + 121) == [("callback", "breached", False)]


def test_closed_ticket_owes_nothing() -> None:
    """Closed and cancelled tickets are out of the scheduler's hands."""
    t = replace(urgent(), status=TicketStatus.CANCELLED, closed_at=T0 + M)
    assert keys(t, 500) == []
