"""SLA scheduler against a real store: at risk once, breach escalates once, across restarts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from sessions.calendar import BusinessCalendar
from sessions.clock import ManualClock
from sessions.servicedesk.outbox import Channel
from sessions.servicedesk.outbox_repo import OutboxRepository
from sessions.servicedesk.scheduler import SlaScheduler
from sessions.sla import SlaPolicy
from sessions.store import Store
from sessions.tickets import Device, Ticket, TicketKind, TicketStatus, Tier

pytestmark = pytest.mark.servicedesk

T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday
POLICY = SlaPolicy.from_config({}, BusinessCalendar())  # urgent 1h, routine 2 working hours


async def open_store(url: str) -> Store:
    """A migrated store at ``url``."""
    store = await Store.open(url)
    await store.migrate()
    return store


async def _admin(url: str, sql: str) -> None:
    """One statement on the server's maintenance database."""
    target = make_url(url).set(drivername="postgresql", database="postgres")
    connection = await asyncpg.connect(target.render_as_string(hide_password=False))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database: a SQLite file, or a private PostgreSQL database dropped after."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'desk.db'}"
        return
    base = request.getfixturevalue("postgres_url")
    name = f"teleguide_sd_{uuid.uuid4().hex[:12]}"
    await _admin(base, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def add_supervisor(store: Store) -> None:
    """A Chinese-speaking supervisor with an email address."""
    await store.upsert_user(
        identity="sup-1",
        display_name="Wang",
        role="supervisor",
        language="zh-CN",
        now=T0,
        email="wang@clinic.example",
    )


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    """A migrated store with a supervisor."""
    store = await open_store(db_url)
    await add_supervisor(store)
    yield store
    await store.close()


async def new_ticket(store: Store, tier: Tier, title: str, now: datetime = T0) -> Ticket:
    """A device-fault ticket opened at ``now``."""
    return await store.create_ticket(
        kind=TicketKind.DEVICE_FAULT,
        tier=tier,
        title=title,
        requester="clinic-1",
        language="en",
        actor="clinic-1",
        now=now,
        policy=POLICY,
        device=Device("RehaMove 3", "SN-7"),
    )


async def actions(store: Store, ticket_id: str, action: str) -> list[dict[str, object]]:
    """Data of the ticket's timeline entries with ``action``."""
    return [e.data for e in await store.list_timeline(ticket_id) if e.action == action]


async def emails(store: Store) -> list[tuple[str, str]]:
    """(event type, subject) of every queued email."""
    outbox = OutboxRepository(store.sessionmaker)
    claimed = await outbox.claim_due(T0 + timedelta(days=30), limit=100)
    return sorted(
        (m.event_type, str(m.payload["subject"])) for m in claimed if m.channel is Channel.EMAIL
    )


async def test_at_risk_notifies_the_supervisor_once(store: Store) -> None:
    """At 75% of the urgent one-hour window: one timeline entry, one email, however often."""
    clock = ManualClock(T0)
    ticket = await new_ticket(store, Tier.URGENT, "pump alarm")
    scheduler = SlaScheduler(store, POLICY, clock)
    assert await scheduler.run_once() == []
    assert scheduler.next_wakeup == T0 + timedelta(minutes=45)
    clock.set(T0 + timedelta(minutes=46))
    [alert] = await scheduler.run_once()
    assert alert.key == "response:at_risk"
    assert await scheduler.run_once() == []
    assert await actions(store, ticket.id, "sla_at_risk") == [
        {"clock": "response", "due_at": (T0 + timedelta(hours=1)).isoformat()}
    ]
    [(event, subject)] = await emails(store)
    assert event == "email.sla_at_risk"
    assert ticket.id in subject
    assert "预警" in subject  # the supervisor reads Chinese
    assert (await store.get_ticket(ticket.id)).status is TicketStatus.OPEN


@pytest.fixture
async def opener() -> AsyncIterator[Callable[[str], Awaitable[Store]]]:
    """Opens migrated stores and closes them all at teardown (also after a failure)."""
    opened: list[Store] = []

    async def open_tracked(url: str) -> Store:
        opened.append(await open_store(url))
        return opened[-1]

    yield open_tracked
    for store in opened:
        await store.close()


async def test_restart_escalates_due_breaches_exactly_once(
    db_url: str, opener: Callable[[str], Awaitable[Store]]
) -> None:
    """Clocks set, scheduler stopped, time advanced, started again: one escalation each."""
    clock = ManualClock(T0)
    store = await opener(db_url)
    await add_supervisor(store)
    urgent = await new_ticket(store, Tier.URGENT, "ventilator fault")
    routine = await new_ticket(store, Tier.ROUTINE, "calibration")
    answered = await new_ticket(store, Tier.URGENT, "answered in time")
    await store.transition_ticket(
        answered.id,
        TicketStatus.ASSIGNED,
        actor="exp-1",
        now=T0 + timedelta(minutes=5),
        policy=POLICY,
    )
    first = SlaScheduler(store, POLICY, clock, poll_interval=0.05)
    assert await first.start() == []
    await first.close()
    await store.close()

    clock.set(T0 + timedelta(hours=3))  # urgent due 11:00, routine due 12:00: both passed
    store = await opener(db_url)
    escalated: list[str] = []

    async def hook(ticket: Ticket) -> None:
        escalated.append(ticket.id)

    second = SlaScheduler(store, POLICY, clock, poll_interval=0.02, on_escalated=hook)
    handled = await second.start()
    assert sorted((a.ticket_id, a.key) for a in handled) == sorted(
        [(urgent.id, "response:breached"), (routine.id, "response:breached")]
    )
    await asyncio.sleep(0.2)  # the loop keeps passing over the same tickets
    await second.close()
    third = SlaScheduler(store, POLICY, clock)
    assert await third.start() == []
    await third.close()

    assert sorted(escalated) == sorted([urgent.id, routine.id])
    for ticket in (urgent, routine):
        assert (await store.get_ticket(ticket.id)).status is TicketStatus.ESCALATED
        assert len(await actions(store, ticket.id, "sla_breached")) == 1
        assert await actions(store, ticket.id, "sla_at_risk") == []  # stale, skipped
        changes = await actions(store, ticket.id, "status_changed")
        assert [c["to"] for c in changes] == ["escalated"]
    assert (await store.get_ticket(answered.id)).status is TicketStatus.ASSIGNED
    assert [e for e, _ in await emails(store)] == ["email.sla_breached"] * 2


async def test_two_schedulers_racing_escalate_once(store: Store) -> None:
    """Two nodes passing at the same instant still escalate each breach once."""
    clock = ManualClock(T0)
    ticket = await new_ticket(store, Tier.URGENT, "race")
    clock.set(T0 + timedelta(hours=2))
    a, b = SlaScheduler(store, POLICY, clock), SlaScheduler(store, POLICY, clock)
    results = await asyncio.gather(a.run_once(), b.run_once(), a.run_once())
    assert sum(len(r) for r in results) == 1
    assert len(await actions(store, ticket.id, "sla_breached")) == 1


async def test_resolution_breach_after_escalation_notifies_without_second_transition(
    store: Store,
) -> None:
    """An escalated ticket that also misses resolution gets a timeline entry, no new move."""
    clock = ManualClock(T0 + timedelta(hours=2))
    ticket = await new_ticket(store, Tier.URGENT, "long one")
    scheduler = SlaScheduler(store, POLICY, clock)
    await scheduler.run_once()
    clock.set(T0 + timedelta(hours=25))
    keys = [a.key for a in await scheduler.run_once()]
    assert keys == ["resolution:breached"]
    changes = await actions(store, ticket.id, "status_changed")
    assert len(changes) == 1
