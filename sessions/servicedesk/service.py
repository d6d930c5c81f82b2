"""The service desk as one object: what the HTTP/WS layer calls.

It joins the sans-I/O router to the store, runs the SLA scheduler and the offer timer, and
turns resolutions, surveys and complaints into stored records, timeline entries and outbox
messages. Every method takes its time from the desk's Clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sessions.clock import Clock
from sessions.exceptions import NotFoundError
from sessions.servicedesk import aftercare
from sessions.servicedesk.aftercare import CallbackTask, Complaint, SurveyLink
from sessions.servicedesk.catalogue import DEFAULT_CATALOGUE, Catalogue
from sessions.servicedesk.events import OfferClosed, RoutingEvent, TicketAssigned
from sessions.servicedesk.exceptions import OfferExpiredError
from sessions.servicedesk.experts import ExpertProfile, make_profile
from sessions.servicedesk.mail_templates import render
from sessions.servicedesk.offers import OfferState
from sessions.servicedesk.outbox import Channel, OutboxMessage
from sessions.servicedesk.outbox_repo import OutboxRepository
from sessions.servicedesk.presence import Presence
from sessions.servicedesk.report import WEEK, report_csv, weekly_report
from sessions.servicedesk.repository import ServiceDeskRepository
from sessions.servicedesk.routing import QueueEntry, Router
from sessions.servicedesk.scheduler import SlaScheduler
from sessions.sla import SlaPolicy
from sessions.store import Store
from sessions.store.repository import MAX_PAGE
from sessions.tickets import Ticket, TicketStatus

logger = logging.getLogger(__name__)

RoutingListener = Callable[[RoutingEvent], Awaitable[None]]
ACTOR = "system:desk"
_QUEUED = (TicketStatus.OPEN, TicketStatus.ESCALATED)
_HELD = (TicketStatus.ASSIGNED, TicketStatus.IN_SESSION, TicketStatus.ESCALATED)
_DONE = (TicketStatus.CLOSED, TicketStatus.CANCELLED, TicketStatus.RESOLVED)


class DeskState(StrEnum):
    """Lifecycle of the desk."""

    CREATED = "created"
    RUNNING = "running"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Resolution:
    """What resolving a ticket set in motion."""

    callback: CallbackTask | None
    """The follow-up call owed (None for tiers without one)."""
    survey_token: str
    """The one-time survey token (only its hash is stored)."""
    survey_url: str
    """The link sent to the requester."""


class PresenceHandle:
    """``presence.set(identity, state, now)`` for the WebSocket; offers follow at once."""

    def __init__(self, desk: ServiceDesk) -> None:
        self._desk = desk

    def set(self, identity: str, state: Presence, now: datetime) -> None:
        """Record a presence; withdrawn offers and new offers are emitted in the background."""
        self._desk.set_presence_nowait(identity, state, now)

    def get(self, identity: str) -> Presence:
        """The expert's current presence."""
        return self._desk.router.presence.get(identity)


class ServiceDesk:
    """Experts, queue, offers, SLA clocks, aftercare, notifications and reports."""

    def __init__(
        self,
        store: Store,
        policy: SlaPolicy,
        clock: Clock,
        *,
        catalogue: Catalogue = DEFAULT_CATALOGUE,
        offer_timeout: timedelta = timedelta(seconds=60),
        survey_url: str = "http://127.0.0.1:8080/survey/{token}",
        scheduler_poll: float = 30.0,
    ) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock
        self.catalogue = catalogue
        self.survey_url = survey_url
        self.router = Router(
            catalogue, offer_timeout=offer_timeout, holidays=policy.calendar.holidays
        )
        self.repo = ServiceDeskRepository(store.sessionmaker)
        self.outbox = OutboxRepository(store.sessionmaker)
        self.scheduler = SlaScheduler(
            store, policy, clock, poll_interval=scheduler_poll, on_escalated=self._escalated
        )
        self.presence = PresenceHandle(self)
        self.state = DeskState.CREATED
        self._listeners: list[RoutingListener] = []
        self._lock = asyncio.Lock()
        self._timer_wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def _set_state(self, state: DeskState) -> None:
        if state is not self.state:
            logger.info("service desk: %s -> %s", self.state.value, state.value)
            self.state = state

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Load experts, rebuild the queue from the store, start the clocks and the timer."""
        if self.state is not DeskState.CREATED:
            return
        for profile in await self.repo.load_experts(self.catalogue):
            self.router.upsert_expert(profile)
        await self._rebuild_queue()
        self._set_state(DeskState.RUNNING)
        await self.scheduler.start()
        self._spawn(self._offer_timer())

    async def close(self) -> None:
        """Stop the scheduler and the timer; idempotent."""
        if self.state is DeskState.CLOSED:
            return
        self._set_state(DeskState.CLOSED)
        await self.scheduler.close()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def add_listener(self, listener: RoutingListener) -> None:
        """Receive every routing event (offers to push to experts over the WebSocket)."""
        self._listeners.append(listener)

    async def _rebuild_queue(self) -> None:
        now = self.clock.now()
        held: dict[str, list[str]] = {}
        for ticket in await self._tickets((*_QUEUED, *_HELD)):
            if ticket.assignee and ticket.status in _HELD:
                held.setdefault(ticket.assignee, []).append(ticket.id)
            if ticket.status is TicketStatus.OPEN or ticket.status is TicketStatus.ESCALATED:
                self.router.enqueue(
                    ticket, now, exclude=[ticket.assignee] if ticket.assignee else []
                )
        for identity, ticket_ids in held.items():
            self.router.restore_assignments(identity, ticket_ids)

    async def _tickets(self, statuses: Sequence[TicketStatus]) -> list[Ticket]:
        found: list[Ticket] = []
        cursor: str | None = None
        while True:
            page, cursor = await self.store.list_tickets(
                status=list(statuses), limit=MAX_PAGE, cursor=cursor, newest_first=False
            )
            found.extend(page)
            if cursor is None:
                return found

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- routing events ---------------------------------------------------------------------

    async def _emit(self, events: Iterable[RoutingEvent]) -> None:
        for event in events:
            for listener in self._listeners:
                try:
                    await listener(event)
                except Exception:
                    logger.exception("routing listener failed on %s", type(event).__name__)
        self._timer_wake.set()

    async def tick(self) -> list[RoutingEvent]:
        """Expire lapsed offers and make new ones now (the timer calls this too)."""
        async with self._lock:
            events = self.router.step(self.clock.now())
        await self._emit(events)
        return events

    async def _offer_timer(self) -> None:
        while self.state is DeskState.RUNNING:
            due = self.router.next_wakeup()
            wait = 30.0 if due is None else (due - self.clock.now()).total_seconds()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._timer_wake.wait(), min(max(wait, 0.0), 30.0))
            self._timer_wake.clear()
            try:
                await self.tick()
            except Exception:
                logger.exception("offer timer pass failed")

    # -- experts ----------------------------------------------------------------------------

    async def register_expert(self, **fields: Any) -> ExpertProfile:
        """Validate and store an expert profile (see experts.make_profile for the fields)."""
        profile = make_profile(self.catalogue, **fields)
        await self.repo.save_expert(profile, self.clock.now())
        self.router.upsert_expert(profile)
        await self.tick()
        return profile

    async def remove_expert(self, identity: str) -> None:
        """Delete an expert; their pending offers go to others."""
        await self.repo.delete_expert(identity)
        await self._emit(self.router.remove_expert(identity))
        await self.tick()

    def experts(self) -> list[ExpertProfile]:
        """Every registered expert."""
        return self.router.experts()

    async def set_presence(self, identity: str, state: Presence) -> list[RoutingEvent]:
        """Record an expert's presence and route accordingly."""
        self.router.expert(identity)
        events = self.router.set_presence(identity, state, self.clock.now())
        await self._emit(events)
        return [*events, *await self.tick()]

    def set_presence_nowait(self, identity: str, state: Presence, now: datetime) -> None:
        """Synchronous form for the WebSocket layer; routing follows in a task."""
        events = self.router.set_presence(identity, state, now)
        self._spawn(self._emit_then_tick(events))

    async def _emit_then_tick(self, events: list[RoutingEvent]) -> None:
        await self._emit(events)
        await self.tick()

    # -- queue and offers -------------------------------------------------------------------

    def queue(self) -> list[QueueEntry]:
        """Tickets waiting for an expert, earliest deadline first."""
        return self.router.queue()

    async def ticket_opened(self, ticket_id: str) -> list[RoutingEvent]:
        """A new (or reopened) ticket: queue it, offer it, watch its clocks."""
        ticket = await self.store.get_ticket(ticket_id)
        self.router.enqueue(ticket, self.clock.now())
        self.scheduler.wake()
        return await self.tick()

    async def ticket_changed(self, ticket_id: str) -> None:
        """Any change made elsewhere (session joined, unassigned, resolved, cancelled, ...):
        bring routing in line with the stored ticket and let the SLA clocks look again."""
        ticket = await self.store.get_ticket(ticket_id)
        now = self.clock.now()
        if ticket.status in _QUEUED:
            exclude = [ticket.assignee] if ticket.assignee else []
            self.router.enqueue(ticket, now, exclude=exclude)
        elif ticket.status in _HELD and ticket.assignee:
            await self._emit(self.router.hold(ticket.assignee, ticket_id, now))
        else:
            await self._emit(self.router.remove(ticket_id))
            if ticket.assignee:
                self.router.release(ticket.assignee, ticket_id, now)
        self.scheduler.wake()
        await self.tick()

    async def accept_offer(self, offer_id: str, expert: str) -> Ticket:
        """The expert takes the offered ticket (OfferExpiredError once it lapsed)."""
        lapsed: OfferExpiredError | None = None
        async with self._lock:
            now = self.clock.now()
            was_pending = self.router.offer(offer_id).state is OfferState.PENDING
            try:
                assigned = self.router.accept(offer_id, expert, now)
            except OfferExpiredError as error:
                # Lapsed before the periodic step noticed: close it now, so the expert's
                # card goes away and the ticket moves on to the next candidate at once.
                lapsed = error
                closed = [OfferClosed(self.router.offer(offer_id))] if was_pending else []
                events = [*closed, *self.router.step(now)]
        if lapsed is not None:
            await self._emit(events)
            raise lapsed
        return await self._apply_assignment(assigned)

    async def decline_offer(self, offer_id: str, expert: str) -> list[RoutingEvent]:
        """The expert passes; the next candidate gets an offer."""
        async with self._lock:
            events = self.router.decline(offer_id, expert, self.clock.now())
        await self._emit(events)
        return events

    async def assign(self, ticket_id: str, expert: str, supervisor: str) -> Ticket:
        """A supervisor assigns a ticket by hand."""
        await self.store.get_ticket(ticket_id)
        async with self._lock:
            events = self.router.assign(ticket_id, expert, supervisor, self.clock.now())
        await self._emit(events[:-1])
        assigned = events[-1]
        assert isinstance(assigned, TicketAssigned)
        return await self._apply_assignment(assigned)

    async def _apply_assignment(self, assigned: TicketAssigned) -> Ticket:
        now = assigned.at
        before = await self.store.get_ticket(assigned.ticket_id)
        previous = before.assignee
        ticket = await self.store.update_ticket(
            assigned.ticket_id, {"assignee": assigned.expert}, actor=assigned.by, now=now
        )
        if ticket.status is not TicketStatus.ASSIGNED:
            ticket = await self.store.transition_ticket(
                ticket.id,
                TicketStatus.ASSIGNED,
                actor=assigned.by,
                now=now,
                policy=self.policy,
                note=f"assigned to {assigned.expert}",
            )
        if previous and previous != assigned.expert:
            self.router.release(previous, ticket.id, now)
        await self.outbox.publish(
            "ticket.assigned",
            {"ticket_id": ticket.id, "assignee": assigned.expert, "by": assigned.by},
            now,
        )
        await self._emit([assigned])
        self.scheduler.wake()
        return ticket

    async def _escalated(self, ticket: Ticket) -> None:
        """Scheduler hook: offer an escalated ticket to someone other than its assignee."""
        exclude = [ticket.assignee] if ticket.assignee else []
        self.router.enqueue(ticket, self.clock.now(), exclude=exclude)
        await self.tick()

    # -- after resolution -------------------------------------------------------------------

    async def ticket_resolved(self, ticket_id: str) -> Resolution:
        """Create the callback task and the survey link, and mail the link to the requester."""
        now = self.clock.now()
        ticket = await self.store.get_ticket(ticket_id)
        await self.ticket_changed(ticket_id)
        callback = aftercare.callback_task_for(ticket, self.policy, now)
        if callback is not None:
            await self.repo.add_callback(callback)
        token, digest = aftercare.new_survey_token()
        await self.repo.add_survey(
            SurveyLink(digest, ticket_id, now, now + aftercare.SURVEY_VALIDITY)
        )
        url = self.survey_url.format(token=token)
        await self._mail_requester(ticket, url, now)
        due = None if callback is None else callback.due_at.isoformat()
        await self.store.append_timeline(
            ticket_id,
            actor=ACTOR,
            action="aftercare_scheduled",
            data={"callback_due_at": due},
            now=now,
        )
        return Resolution(callback, token, url)

    async def _mail_requester(self, ticket: Ticket, url: str, now: datetime) -> None:
        try:
            user = await self.store.get_user(ticket.requester)
        except NotFoundError:
            return
        if not user.email:
            return
        mail = render(
            "survey_invitation",
            ticket.language,
            {"ticket_id": ticket.id, "title": ticket.title, "survey_url": url},
        )
        payload = {
            "to": user.email,
            "subject": mail.subject,
            "text": mail.text,
            "locale": mail.locale,
        }
        await self.outbox.enqueue(
            Channel.EMAIL, user.email, "email.survey_invitation", payload, now
        )

    async def complete_callback(
        self, callback_id: str, outcome: str, independent: bool | None, actor: str
    ) -> CallbackTask | None:
        """Record the call; when the patient cannot train alone yet, schedule the next one."""
        now = self.clock.now()
        task = await self.repo.complete_callback(callback_id, outcome, independent, now)
        ticket = await self.store.get_ticket(task.ticket_id)
        data = {"callback_id": task.id, "outcome": task.outcome, "independent": independent}
        await self.store.append_timeline(
            ticket.id, actor=actor, action="callback_done", data=data, now=now
        )
        if ticket.status is TicketStatus.RESOLVED:
            await self.store.transition_ticket(
                ticket.id, TicketStatus.CALLBACK_DONE, actor=actor, now=now, policy=self.policy
            )
        await self.outbox.publish("callback.done", {"ticket_id": ticket.id, **data}, now)
        follow_up = aftercare.follow_up_after(task, self.policy, ticket)
        if follow_up is not None:
            await self.repo.add_callback(follow_up)
        return follow_up

    async def submit_survey(self, token: str, score: int, comment: str = "") -> SurveyLink:
        """Record a survey answer once (SurveyUsedError the second time)."""
        now = self.clock.now()
        link = await self.repo.submit_survey(token, score, comment, now)
        data = {"score": link.score, "comment": link.comment}
        await self.store.append_timeline(
            link.ticket_id, actor="survey", action="survey_answered", data=data, now=now
        )
        await self.outbox.publish("survey.answered", {"ticket_id": link.ticket_id, **data}, now)
        return link

    async def open_complaint(self, ticket_id: str, reason: str, opened_by: str) -> Complaint:
        """File a complaint about a ticket; it must close within 5 working days."""
        now = self.clock.now()
        await self.store.get_ticket(ticket_id)
        complaint = aftercare.open_complaint(
            ticket_id, reason, opened_by, now, self.policy.calendar
        )
        await self.repo.add_complaint(complaint)
        data = {"complaint_id": complaint.id, "due_at": complaint.due_at.isoformat()}
        await self.store.append_timeline(
            ticket_id, actor=opened_by, action="complaint_opened", data=data, now=now
        )
        await self.outbox.publish("complaint.opened", {"ticket_id": ticket_id, **data}, now)
        return complaint

    async def close_complaint(self, complaint_id: str, resolution: str, actor: str) -> Complaint:
        """Close a complaint with how it was settled."""
        now = self.clock.now()
        complaint = await self.repo.close_complaint(complaint_id, resolution, now)
        data = {
            "complaint_id": complaint.id,
            "late": complaint.closed_at is not None and complaint.closed_at > complaint.due_at,
        }
        await self.store.append_timeline(
            complaint.ticket_id, actor=actor, action="complaint_closed", data=data, now=now
        )
        await self.outbox.publish(
            "complaint.closed", {"ticket_id": complaint.ticket_id, **data}, now
        )
        return complaint

    # -- notifications ----------------------------------------------------------------------

    async def publish(self, event_type: str, data: Mapping[str, Any]) -> list[str]:
        """Queue a webhook event (``session.*``, ``recording.*``, ``ticket.*``) for subscribers."""
        return await self.outbox.publish(event_type, data, self.clock.now())

    async def send_email(
        self, to: str, template: str, locale: str, context: Mapping[str, Any]
    ) -> str:
        """Render a template (en or zh-CN) and queue it, e.g. ``session_summary``."""
        mail = render(template, locale, context)
        payload = {"to": to, "subject": mail.subject, "text": mail.text, "locale": mail.locale}
        return await self.outbox.enqueue(
            Channel.EMAIL, to, f"email.{template}", payload, self.clock.now()
        )

    async def dead_letters(self, limit: int = 100) -> list[OutboxMessage]:
        """Notifications that could not be delivered."""
        return await self.outbox.dead_letters(limit)

    # -- reports ----------------------------------------------------------------------------

    async def weekly_report(self, week_start: datetime) -> dict[str, Any]:
        """The SLA report of the week starting at ``week_start`` (JSON-ready)."""
        tickets = await self.repo.tickets_opened_between(week_start, week_start + WEEK)
        answers = await self.repo.survey_answers(week_start, week_start + WEEK)
        return weekly_report(tickets, answers, week_start, self.clock.now(), self.policy)

    async def weekly_report_csv(self, week_start: datetime) -> str:
        """The same report as CSV."""
        return report_csv(await self.weekly_report(week_start))
