"""The service desk end to end over a real store: offers, expiry, restart, escalation,
aftercare, complaints and the weekly report."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from sessions.calendar import BusinessCalendar
from sessions.clock import ManualClock
from sessions.exceptions import NotFoundError, ValidationError
from sessions.servicedesk.events import OfferMade, RoutingEvent, TicketAssigned
from sessions.servicedesk.exceptions import OfferExpiredError, SurveyUsedError
from sessions.servicedesk.presence import Presence
from sessions.servicedesk.service import ServiceDesk
from sessions.sla import SlaPolicy
from sessions.store import Store
from sessions.tickets import Device, Ticket, TicketKind, TicketStatus, Tier

pytestmark = pytest.mark.servicedesk

T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # Wednesday
POLICY = SlaPolicy.from_config({}, BusinessCalendar())
ALL_DAY = {day: [(time(0), time(23, 59))] for day in range(7)}


async def open_store(path: Path) -> Store:
    """A migrated SQLite store in ``path``."""
    store = await Store.open(f"sqlite+aiosqlite:///{path / 'desk.db'}")
    await store.migrate()
    return store


class Desk:
    """A desk under test with the routing events it emitted."""

    def __init__(self, store: Store, clock: ManualClock) -> None:
        self.desk = ServiceDesk(
            store, POLICY, clock, offer_timeout=timedelta(seconds=60), scheduler_poll=3600
        )
        self.events: list[RoutingEvent] = []
        self.desk.add_listener(self.record)

    async def record(self, event: RoutingEvent) -> None:
        """Listener: keep every event."""
        self.events.append(event)

    def offers(self) -> list[OfferMade]:
        """Offers made so far."""
        return [e for e in self.events if isinstance(e, OfferMade)]


DeskFactory = Callable[[Store, ManualClock], Awaitable[Desk]]


@pytest.fixture
async def make_desk() -> AsyncIterator[DeskFactory]:
    """Start desks; every desk is closed at teardown, even when the test failed."""
    made: list[Desk] = []

    async def factory(store: Store, clock: ManualClock) -> Desk:
        under = Desk(store, clock)
        made.append(under)
        await under.desk.start()
        return under

    yield factory
    for under in made:
        await under.desk.close()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A migrated store."""
    store = await open_store(tmp_path)
    yield store
    await store.close()


async def add_experts(desk: ServiceDesk, *names: str) -> None:
    """English-speaking FES-cycle experts on duty all week, online."""
    for name in names:
        await desk.register_expert(
            identity=name,
            name=name.title(),
            skills=["fes_cycle"],
            languages=["en"],
            working_hours=ALL_DAY,
            capacity=2,
        )
        await desk.set_presence(name, Presence.ONLINE)


async def open_ticket(store: Store, now: datetime, tier: Tier = Tier.URGENT) -> Ticket:
    """An English RehaMove ticket."""
    return await store.create_ticket(
        kind=TicketKind.DEVICE_FAULT,
        tier=tier,
        title="motor stalls",
        requester="clinic-1",
        language="en",
        actor="clinic-1",
        now=now,
        policy=POLICY,
        device=Device("RehaMove 3", "SN-1"),
    )


async def test_offer_accept_assigns_in_the_store(store: Store, make_desk: DeskFactory) -> None:
    """The matching expert gets the offer; accepting assigns the ticket."""
    clock = ManualClock(T0)
    under = await make_desk(store, clock)
    await add_experts(under.desk, "ana")
    with pytest.raises(ValidationError, match="unknown skills"):
        await under.desk.register_expert(
            identity="bob", name="Bob", skills=["cardiology"], languages=["en"]
        )
    ticket = await open_ticket(store, T0)
    await under.desk.ticket_opened(ticket.id)
    [offer] = under.offers()
    assert offer.offer.expert == "ana"
    assigned = await under.desk.accept_offer(offer.offer.id, "ana")
    assert (assigned.status, assigned.assignee) == (TicketStatus.ASSIGNED, "ana")
    assert assigned.first_response_at == T0
    assert any(isinstance(e, TicketAssigned) for e in under.events)


async def test_offer_expires_goes_to_next_and_late_answer_is_refused(
    store: Store, make_desk: DeskFactory
) -> None:
    """No answer in 60 s: the next expert is offered it; the first one's accept fails."""
    clock = ManualClock(T0)
    under = await make_desk(store, clock)
    await add_experts(under.desk, "ana", "ben")
    ticket = await open_ticket(store, T0)
    await under.desk.ticket_opened(ticket.id)
    [first] = under.offers()
    clock.set(T0 + timedelta(seconds=61))
    await under.desk.tick()
    second = under.offers()[-1]
    assert second.offer.expert != first.offer.expert
    with pytest.raises(OfferExpiredError, match="expired"):
        await under.desk.accept_offer(first.offer.id, first.offer.expert)
    await under.desk.accept_offer(second.offer.id, second.offer.expert)
    assert (await store.get_ticket(ticket.id)).assignee == second.offer.expert


async def test_restart_restores_experts_queue_and_load(
    store: Store, tmp_path: Path, make_desk: DeskFactory
) -> None:
    """After a restart the experts, the waiting tickets and who holds what come back."""
    clock = ManualClock(T0)
    first = await make_desk(store, clock)
    await add_experts(first.desk, "ana")
    held = await open_ticket(store, T0)
    await first.desk.ticket_opened(held.id)
    await first.desk.accept_offer(first.offers()[0].offer.id, "ana")
    waiting = await open_ticket(store, T0, Tier.ROUTINE)
    await first.desk.close()

    reopened = await open_store(tmp_path)
    try:
        second = await make_desk(reopened, clock)
        assert [e.identity for e in second.desk.experts()] == ["ana"]
        assert [e.ticket_id for e in second.desk.queue()] == [waiting.id]
        assert second.desk.router.load("ana") == 1
        await second.desk.set_presence("ana", Presence.ONLINE)
        assert [o.offer.ticket_id for o in second.offers()] == [waiting.id]
        await second.desk.close()
    finally:
        await reopened.close()


async def test_breach_escalates_and_offers_reassignment_to_someone_else(
    store: Store, make_desk: DeskFactory
) -> None:
    """The assignee let the resolution clock breach: another expert is offered the ticket."""
    clock = ManualClock(T0)
    under = await make_desk(store, clock)
    await add_experts(under.desk, "ana", "ben")
    ticket = await open_ticket(store, T0)
    await under.desk.ticket_opened(ticket.id)
    offer = under.offers()[0].offer
    await under.desk.accept_offer(offer.id, offer.expert)
    clock.set(T0 + timedelta(hours=25))
    await under.desk.scheduler.run_once()  # the background loop may have been first
    timeline = [e.action for e in await store.list_timeline(ticket.id)]
    assert timeline.count("sla_breached") == 1
    assert (await store.get_ticket(ticket.id)).status is TicketStatus.ESCALATED
    reoffer = under.offers()[-1].offer
    assert reoffer.ticket_id == ticket.id
    assert reoffer.expert != offer.expert
    taken = await under.desk.accept_offer(reoffer.id, reoffer.expert)
    assert (taken.status, taken.assignee) == (TicketStatus.ASSIGNED, reoffer.expert)
    assert under.desk.router.load(offer.expert) == 0


async def test_resolution_callback_survey_once_and_report(
    store: Store, make_desk: DeskFactory
) -> None:
    """Resolving schedules a callback and a one-time survey that shows in the report."""
    clock = ManualClock(T0)
    under = await make_desk(store, clock)
    await store.upsert_user(
        identity="clinic-1",
        display_name="Clinic",
        role="technician",
        language="zh-CN",
        now=T0,
        email="tech@clinic.example",
    )
    ticket = await open_ticket(store, T0)
    await add_experts(under.desk, "ana")
    await under.desk.ticket_opened(ticket.id)
    await under.desk.accept_offer(under.offers()[0].offer.id, "ana")
    clock.set(T0 + timedelta(hours=2))
    await store.transition_ticket(
        ticket.id, TicketStatus.RESOLVED, actor="ana", now=clock.now(), policy=POLICY
    )
    resolution = await under.desk.ticket_resolved(ticket.id)
    assert resolution.callback is not None
    assert resolution.callback.due_at == T0 + timedelta(hours=4)  # urgent: 2 h after
    assert resolution.survey_token in resolution.survey_url
    await under.desk.complete_callback(resolution.callback.id, "all good", None, "ana")
    assert (await store.get_ticket(ticket.id)).status is TicketStatus.CALLBACK_DONE
    await under.desk.submit_survey(resolution.survey_token, 5, "quick and kind")
    with pytest.raises(SurveyUsedError):
        await under.desk.submit_survey(resolution.survey_token, 1, "changed my mind")
    with pytest.raises(NotFoundError):
        await under.desk.submit_survey("not-a-token", 3)
    report = await under.desk.weekly_report(datetime(2026, 3, 2, tzinfo=UTC))
    assert report["surveys"]["distribution"]["5"] == 1
    assert report["response"]["met"] == 1
    assert report["resolution"]["met"] == 1
    csv_text = await under.desk.weekly_report_csv(datetime(2026, 3, 2, tzinfo=UTC))
    assert "surveys.mean_score,5.0" in csv_text
    pending = await under.desk.outbox.claim_due(clock.now(), limit=50)
    invitations = [m for m in pending if m.event_type == "email.survey_invitation"]
    assert [m.payload["to"] for m in invitations] == ["tech@clinic.example"]
    # The ticket's language (en) decides, not the account's default (zh-CN).
    assert str(invitations[0].payload["subject"]).startswith("How did we do?")


async def test_overdue_complaint_is_announced_once(store: Store, make_desk: DeskFactory) -> None:
    """A complaint open past 5 working days gets one timeline entry and one event."""
    clock = ManualClock(T0)
    under = await make_desk(store, clock)
    ticket = await open_ticket(store, T0)
    complaint = await under.desk.open_complaint(ticket.id, "nobody called back", "clinic-1")
    assert complaint.due_at == T0 + timedelta(days=7)  # Wednesday to next Wednesday
    clock.set(complaint.due_at + timedelta(minutes=1))
    await under.desk.scheduler.run_once()
    await under.desk.scheduler.run_once()
    timeline = [e.action for e in await store.list_timeline(ticket.id)]
    assert timeline.count("complaint_overdue") == 1
    closed = await under.desk.close_complaint(complaint.id, "apologised, callback done", "sup-1")
    assert closed.closed_at == clock.now()


async def test_changes_made_elsewhere_keep_routing_in_line(
    store: Store, make_desk: DeskFactory
) -> None:
    """Joining a session directly takes a ticket off the queue; cancelling frees the expert."""
    clock = ManualClock(T0)
    under = await make_desk(store, clock)
    ticket = await open_ticket(store, T0)
    await under.desk.ticket_opened(ticket.id)
    assert [e.ticket_id for e in under.desk.queue()] == [ticket.id]
    await store.update_ticket(ticket.id, {"assignee": "ana"}, actor="ana", now=T0)
    await store.transition_ticket(
        ticket.id, TicketStatus.IN_SESSION, actor="ana", now=T0, policy=POLICY
    )
    await under.desk.ticket_changed(ticket.id)
    assert under.desk.queue() == []
    assert under.desk.router.load("ana") == 1
    await add_experts(under.desk, "ana")
    assert under.offers() == []
    await store.transition_ticket(
        ticket.id, TicketStatus.ASSIGNED, actor="ana", now=T0, policy=POLICY
    )
    await store.transition_ticket(
        ticket.id, TicketStatus.CANCELLED, actor="sup-1", now=T0, policy=POLICY
    )
    await under.desk.ticket_changed(ticket.id)
    assert under.desk.router.load("ana") == 0


async def test_profile_outside_a_narrowed_catalogue_is_left_out(
    store: Store, make_desk: DeskFactory
) -> None:
    """A restart with a smaller catalogue skips the profile it no longer accepts."""
    from sessions.servicedesk.catalogue import Catalogue
    from sessions.servicedesk.repository import ServiceDeskRepository

    clock = ManualClock(T0)
    first = await make_desk(store, clock)
    await add_experts(first.desk, "ana")
    await first.desk.close()
    narrow = Catalogue(models={"Philips V60": "ventilator"}, languages=frozenset({"en"}))
    assert await ServiceDeskRepository(store.sessionmaker).load_experts(narrow) == []


async def test_desk_never_blocks_the_event_loop(store: Store, make_desk: DeskFactory) -> None:
    """A whole ticket's life through the desk under blockbuster: no blocking call on the loop."""
    from blockbuster import blockbuster_ctx

    clock = ManualClock(T0)
    with blockbuster_ctx():
        under = await make_desk(store, clock)
        await add_experts(under.desk, "ana")
        ticket = await open_ticket(store, T0)
        await under.desk.ticket_opened(ticket.id)
        await under.desk.accept_offer(under.offers()[0].offer.id, "ana")
        clock.set(T0 + timedelta(hours=25))
        await under.desk.scheduler.run_once()
        await store.transition_ticket(
            ticket.id, TicketStatus.RESOLVED, actor="ana", now=clock.now(), policy=POLICY
        )
        resolution = await under.desk.ticket_resolved(ticket.id)
        await under.desk.submit_survey(resolution.survey_token, 4)
        report = await under.desk.weekly_report(datetime(2026, 3, 2, tzinfo=UTC))
        await under.desk.close()
    assert report["breaches"]["resolution"] == 1
