"""The SLA clock scheduler: wakes when a clock changes state and acts on it exactly once.

Deadlines live on the stored tickets and what was already done lives in ``sd_sla_marks``,
so a scheduler started after downtime simply looks again: every alert that fell due while
it was stopped is acted on once, and nothing is repeated. Each alert is handled in one
transaction (marker, status change, timeline entry, outbox messages), so a crash half-way
leaves nothing half done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sessions.clock import Clock
from sessions.servicedesk.mail_templates import clock_name, render
from sessions.servicedesk.outbox import Channel
from sessions.servicedesk.outbox_repo import enqueue, enqueue_event
from sessions.servicedesk.repository import claim_mark, marks_of
from sessions.servicedesk.sla_watch import AlertKind, SlaAlert, due_alerts
from sessions.servicedesk.tables import ComplaintRow
from sessions.sla import SlaPolicy, next_change
from sessions.store import Store
from sessions.store.changes import transitioned
from sessions.store.convert import ticket_columns, ticket_from_row
from sessions.store.models import UserRow
from sessions.store.repository import MAX_PAGE
from sessions.store.timeline import append_timeline_entry, lock_ticket
from sessions.tickets import ACTIVE_STATUSES, Ticket, TicketStatus, check_transition

logger = logging.getLogger(__name__)

#: Statuses whose clocks can still change: the active ones and resolved (callback clock).
WATCHED = frozenset({*ACTIVE_STATUSES, TicketStatus.RESOLVED})
ACTOR = "system:sla"
#: Seconds close() waits for a pass in progress before cancelling it.
CLOSE_TIMEOUT = 30.0

EscalationHook = Callable[[Ticket], Awaitable[None]]


class SchedulerState(StrEnum):
    """Lifecycle of the scheduler."""

    CREATED = "created"
    RUNNING = "running"
    CLOSED = "closed"


class SlaScheduler:
    """Watches every running SLA clock; notifies at risk, escalates on breach, once each."""

    def __init__(
        self,
        store: Store,
        policy: SlaPolicy,
        clock: Clock,
        *,
        poll_interval: float = 30.0,
        on_escalated: EscalationHook | None = None,
    ) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock
        self.poll_interval = poll_interval
        self.on_escalated = on_escalated
        self.state = SchedulerState.CREATED
        self.next_wakeup: datetime | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _set_state(self, state: SchedulerState) -> None:
        if state is not self.state:
            logger.info("sla scheduler: %s -> %s", self.state.value, state.value)
            self.state = state

    async def start(self) -> list[SlaAlert]:
        """Catch up on everything that fell due while stopped, then keep watching."""
        if self.state is not SchedulerState.CREATED:
            return []
        handled = await self.run_once()
        self._set_state(SchedulerState.RUNNING)
        self._task = asyncio.create_task(self._loop(), name="sla-scheduler")
        return handled

    def wake(self) -> None:
        """Look again now (a ticket was created or changed)."""
        self._wake.set()

    async def close(self) -> None:
        """Stop watching; idempotent."""
        if self.state is SchedulerState.CLOSED:
            return
        self._set_state(SchedulerState.CLOSED)
        self._wake.set()
        if self._task is not None:
            # Let a pass in progress finish: cancelling it mid-transaction could leave a
            # database connection holding its lock. wait_for cancels only if it overruns.
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._task, CLOSE_TIMEOUT)
            self._task = None

    async def _loop(self) -> None:
        while self.state is SchedulerState.RUNNING:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._sleep_seconds())
            self._wake.clear()
            if self.state is not SchedulerState.RUNNING:
                return
            try:
                await self.run_once()
            except Exception:
                # A database hiccup must not kill the clocks; the next pass retries.
                logger.exception("sla scheduler pass failed")

    def _sleep_seconds(self) -> float:
        if self.next_wakeup is None:
            return self.poll_interval
        wait = (self.next_wakeup - self.clock.now()).total_seconds()
        return min(max(wait, 0.0), self.poll_interval)

    async def run_once(self) -> list[SlaAlert]:
        """One pass over every watched ticket; return the alerts acted on."""
        now = self.clock.now()
        tickets = await self._watched_tickets()
        marks = await self._marks([t.id for t in tickets])
        handled: list[SlaAlert] = []
        for ticket in tickets:
            if due_alerts(ticket, now, self.policy, marks.get(ticket.id, set())):
                handled.extend(await self._handle(ticket.id, now))
        await self._complaints(now)
        upcoming = [next_change(t, now, self.policy) for t in tickets]
        self.next_wakeup = min((u for u in upcoming if u is not None), default=None)
        return handled

    async def _watched_tickets(self) -> list[Ticket]:
        found: list[Ticket] = []
        cursor: str | None = None
        while True:
            page, cursor = await self.store.list_tickets(
                status=WATCHED, limit=MAX_PAGE, cursor=cursor, newest_first=False
            )
            found.extend(page)
            if cursor is None:
                return found

    async def _marks(self, ticket_ids: list[str]) -> dict[str, set[str]]:
        async with self.store.sessionmaker() as session:
            return await marks_of(session, ticket_ids)

    async def _handle(self, ticket_id: str, now: datetime) -> list[SlaAlert]:
        escalated: Ticket | None = None
        async with self.store.sessionmaker.begin() as session:
            row = await lock_ticket(session, ticket_id)
            ticket = ticket_from_row(row)
            marks = (await marks_of(session, [ticket_id]))[ticket_id]
            done = []
            for alert in due_alerts(ticket, now, self.policy, marks):
                if not await claim_mark(session, ticket_id, alert.key, now, {"by": ACTOR}):
                    continue
                if alert.escalate:
                    ticket = escalated = await self._escalate(session, row, ticket, now)
                await self._record(session, ticket, alert, now)
                done.append(alert)
        if escalated is not None and self.on_escalated is not None:
            await self.on_escalated(escalated)
        return done

    async def _escalate(
        self, session: AsyncSession, row: Any, ticket: Ticket, now: datetime
    ) -> Ticket:
        check_transition(ticket.status, TicketStatus.ESCALATED)
        after = transitioned(ticket, TicketStatus.ESCALATED, now, self.policy)
        for column, value in ticket_columns(after).items():
            if getattr(row, column) != value:
                setattr(row, column, value)
        await session.flush()
        await append_timeline_entry(
            session,
            ticket.id,
            actor=ACTOR,
            action="status_changed",
            data={"from": ticket.status, "to": TicketStatus.ESCALATED, "note": "SLA breach"},
            now=now,
            locked=True,
        )
        await enqueue_event(session, "ticket.escalated", _event_data(after), now)
        logger.info("ticket %s: %s -> escalated (SLA breach)", ticket.id, ticket.status.value)
        return ticket_from_row(row)

    async def _record(
        self, session: AsyncSession, ticket: Ticket, alert: SlaAlert, now: datetime
    ) -> None:
        data = {"clock": alert.clock.value, "due_at": alert.due_at.isoformat()}
        action = f"sla_{alert.kind.value}"
        await append_timeline_entry(
            session, ticket.id, actor=ACTOR, action=action, data=data, now=now, locked=True
        )
        await enqueue_event(session, f"ticket.{action}", {**_event_data(ticket), **data}, now)
        template = "sla_at_risk" if alert.kind is AlertKind.AT_RISK else "sla_breached"
        for email, locale in await _supervisors(session):
            mail = render(template, locale, _mail_context(ticket, alert, locale))
            payload = {
                "to": email,
                "subject": mail.subject,
                "text": mail.text,
                "locale": mail.locale,
            }
            await enqueue(session, Channel.EMAIL, email, f"email.{template}", payload, now)

    async def _complaints(self, now: datetime) -> None:
        async with self.store.sessionmaker.begin() as session:
            stmt = select(ComplaintRow).where(
                ComplaintRow.closed_at.is_(None),
                ComplaintRow.overdue_notified_at.is_(None),
                ComplaintRow.due_at < now,
            )
            for row in (await session.scalars(stmt)).all():
                await _complaint_overdue(session, row, now)


async def _complaint_overdue(session: AsyncSession, row: ComplaintRow, now: datetime) -> None:
    claim = (
        update(ComplaintRow)
        .where(ComplaintRow.id == row.id, ComplaintRow.overdue_notified_at.is_(None))
        .values(overdue_notified_at=now)
        .execution_options(synchronize_session=False)
    )
    if not (await session.execute(claim)).rowcount:  # type: ignore[attr-defined]
        return
    data = {"complaint_id": row.id, "ticket_id": row.ticket_id, "due_at": row.due_at.isoformat()}
    await append_timeline_entry(
        session, row.ticket_id, actor=ACTOR, action="complaint_overdue", data=data, now=now
    )
    await enqueue_event(session, "complaint.overdue", data, now)
    for email, locale in await _supervisors(session):
        mail = render("complaint_overdue", locale, data)
        payload = {"to": email, "subject": mail.subject, "text": mail.text, "locale": mail.locale}
        await enqueue(session, Channel.EMAIL, email, "email.complaint_overdue", payload, now)


async def _supervisors(session: AsyncSession) -> list[tuple[str, str]]:
    """(email, language) of every supervisor with an address."""
    stmt = select(UserRow.email, UserRow.language).where(
        UserRow.role == "supervisor", UserRow.email.is_not(None)
    )
    return [(email, language) for email, language in (await session.execute(stmt)).all() if email]


def _event_data(ticket: Ticket) -> dict[str, Any]:
    return {
        "ticket_id": ticket.id,
        "status": ticket.status.value,
        "tier": ticket.tier.value,
        "kind": ticket.kind.value,
        "assignee": ticket.assignee,
    }


def _mail_context(ticket: Ticket, alert: SlaAlert, locale: str) -> dict[str, str]:
    return {
        "ticket_id": ticket.id,
        "title": ticket.title,
        "tier": ticket.tier.value,
        "clock": clock_name(alert.clock.value, locale),
        "due_at": alert.due_at.isoformat(timespec="minutes"),
        "assignee": ticket.assignee or "-",
    }
