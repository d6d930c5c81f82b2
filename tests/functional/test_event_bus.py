"""The event bus in process and over a real Redis: two nodes see each other's events."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from sessions.bus import BusEvent, EventBus, InProcessBus, RedisBus


class Inbox:
    """Collects delivered events."""

    def __init__(self) -> None:
        self.events: list[BusEvent] = []
        self.arrived = asyncio.Event()

    async def __call__(self, event: BusEvent) -> None:
        self.events.append(event)
        self.arrived.set()

    async def wait(self, count: int) -> list[BusEvent]:
        async with asyncio.timeout(10):
            while len(self.events) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.events


async def test_in_process_bus_matches_prefixes_and_survives_failing_handlers() -> None:
    bus = InProcessBus()
    tickets, everything = Inbox(), Inbox()

    async def broken(event: BusEvent) -> None:
        raise RuntimeError("handler bug")

    bus.subscribe("ticket.", tickets)
    bus.subscribe("", everything)
    bus.subscribe("ticket.", broken)
    await bus.publish("ticket.created", {"id": "tkt_1"})
    await bus.publish("session.ended", {"id": "ses_1"})
    await bus.close()
    assert [e.topic for e in tickets.events] == ["ticket.created"]
    assert [e.topic for e in everything.events] == ["ticket.created", "session.ended"]


@pytest.mark.redis
async def test_redis_bus_delivers_across_nodes(redis_url: str) -> None:
    channel = f"teleguide-test-{uuid.uuid4().hex}"
    node_a, node_b = RedisBus(redis_url, "a", channel), RedisBus(redis_url, "b", channel)
    buses: list[EventBus] = [node_a, node_b]
    inbox_a, inbox_b = Inbox(), Inbox()
    node_a.subscribe("ticket.", inbox_a)
    node_b.subscribe("ticket.", inbox_b)
    for bus in buses:
        await bus.start()
    try:
        sent = await node_a.publish("ticket.status_changed", {"id": "tkt_9", "to": "assigned"})
        await node_b.publish("session.started", {"id": "ses_9"})  # nobody listens to it
        received_b = await inbox_b.wait(1)
        received_a = await inbox_a.wait(1)
    finally:
        for bus in buses:
            await bus.close()
    assert received_b[0].id == sent.id
    assert received_b[0].node == "a"
    assert received_b[0].data == {"id": "tkt_9", "to": "assigned"}
    assert [e.id for e in received_a] == [sent.id]
