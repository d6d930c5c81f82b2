"""The bus-to-desk bridge: routing follows ticket events, events become webhooks once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sessions.bus import BusEvent, InProcessBus
from sessions.calendar import BusinessCalendar
from sessions.clock import ManualClock
from sessions.servicedesk.endpoints import make_endpoint
from sessions.servicedesk.service import ServiceDesk
from sessions.sla import SlaPolicy
from sessions.store import Store
from sessions.tickets import Device, TicketKind, TicketStatus, Tier
from signaling.notify.bridge import DeskBridge

pytestmark = pytest.mark.servicedesk

T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
POLICY = SlaPolicy.from_config({}, BusinessCalendar())


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[ServiceDesk]:
    """A started desk on a fresh store, with a webhook endpoint for every event."""
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'bridge.db'}")
    await store.migrate()
    desk = ServiceDesk(store, POLICY, ManualClock(T0), scheduler_poll=3600)
    await desk.outbox.add_endpoint(make_endpoint("https://hooks.example/x", ["*"]), T0)
    await desk.start()
    yield desk
    await desk.close()
    await store.close()


async def test_ticket_events_route_and_become_webhooks_once(desk: ServiceDesk) -> None:
    """Our node's events are forwarded; another node's only update routing."""
    bus = InProcessBus(node="node-a")
    DeskBridge(bus, desk, "node-a").attach()
    ticket = await desk.store.create_ticket(
        kind=TicketKind.DEVICE_FAULT,
        tier=Tier.URGENT,
        title="no power",
        requester="clinic-1",
        language="en",
        actor="clinic-1",
        now=T0,
        policy=POLICY,
        device=Device("RehaMove 3", "SN-2"),
    )
    await bus.publish("ticket.created", {"ticket_id": ticket.id, "status": "open"})
    await bus.close()  # waits for the handlers
    assert [e.ticket_id for e in desk.queue()] == [ticket.id]

    foreign = BusEvent("session.ended", {"session_id": "ses_1", "ticket_id": ticket.id})
    await DeskBridge(bus, desk, "node-b").on_event(foreign)  # published elsewhere
    queued = await desk.outbox.claim_due(T0, limit=10)
    assert [m.event_type for m in queued] == ["ticket.created"]
    assert queued[0].payload["ticket_id"] == ticket.id


async def test_resolution_event_starts_aftercare_where_the_desk_runs(
    desk: ServiceDesk,
) -> None:
    """``ticket.status_changed`` to resolved schedules the callback on the desk's node only."""
    ticket = await desk.store.create_ticket(
        kind=TicketKind.DEVICE_FAULT,
        tier=Tier.URGENT,
        title="fixed remotely",
        requester="clinic-1",
        language="en",
        actor="clinic-1",
        now=T0,
        policy=POLICY,
    )
    await desk.store.transition_ticket(
        ticket.id, TicketStatus.ASSIGNED, actor="ana", now=T0, policy=POLICY
    )
    await desk.store.transition_ticket(
        ticket.id, TicketStatus.RESOLVED, actor="ana", now=T0, policy=POLICY
    )
    data = {"ticket_id": ticket.id, "status": "resolved"}
    event = BusEvent("ticket.status_changed", data, node="node-a")
    follower = DeskBridge(InProcessBus(), None, "node-a", outbox=desk.outbox, clock=desk.clock)
    await follower.on_event(event)
    assert await desk.repo.open_callbacks() == []
    [webhook] = await desk.outbox.claim_due(T0, limit=10)
    assert webhook.event_type == "ticket.status_changed"  # the publishing node sends it
    await DeskBridge(InProcessBus(), desk, "node-b").on_event(event)
    [callback] = await desk.repo.open_callbacks()
    assert callback.ticket_id == ticket.id
    assert await desk.outbox.claim_due(T0, limit=10) == []  # node-b did not send it again


def test_a_bridge_without_desk_needs_an_outbox() -> None:
    """A follower bridge cannot be built without somewhere to queue webhooks."""
    with pytest.raises(ValueError):
        DeskBridge(InProcessBus(), None, "node-a")
