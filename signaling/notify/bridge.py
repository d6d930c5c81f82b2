"""Feeds the event bus to the service desk.

Ticket, session and recording events become webhooks on the node that published them, so
each is sent once however many nodes see it. Routing and aftercare happen only where the
desk runs (one node: see ``signaling/desk_node.py``), so they too happen once.
"""

from __future__ import annotations

import logging

from sessions.bus import BusEvent, EventBus
from sessions.clock import Clock
from sessions.servicedesk.outbox_repo import OutboxRepository
from sessions.servicedesk.service import ServiceDesk
from sessions.tickets import TicketStatus

logger = logging.getLogger(__name__)

#: Event families forwarded to webhook subscribers.
WEBHOOK_FAMILIES = ("ticket.", "session.", "recording.")


class DeskBridge:
    """Subscribes the desk to the bus; ``attach()`` once at start-up.

    ``desk`` is None on nodes that do not run the desk (they still send their webhooks);
    the node sets it when it takes the desk over.
    """

    def __init__(
        self,
        bus: EventBus,
        desk: ServiceDesk | None,
        node: str,
        *,
        outbox: OutboxRepository | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.bus = bus
        self.desk = desk
        self.node = node
        if outbox is None or clock is None:
            if desk is None:
                raise ValueError("a bridge without a desk needs an outbox and a clock")
            outbox, clock = outbox or desk.outbox, clock or desk.clock
        self.outbox = outbox
        self.clock = clock

    def attach(self) -> None:
        """Subscribe to the families the desk cares about."""
        for family in WEBHOOK_FAMILIES:
            self.bus.subscribe(family, self.on_event)

    async def on_event(self, event: BusEvent) -> None:
        """Forward one event: webhook (publishing node only), then routing for tickets."""
        if event.node == self.node:
            data = {**event.data, "event_id": event.id}
            await self.outbox.publish(event.topic, data, self.clock.now())
        desk = self.desk
        ticket_id = event.data.get("ticket_id")
        if desk is None or not event.topic.startswith("ticket.") or not isinstance(ticket_id, str):
            return
        resolved = event.data.get("status") == TicketStatus.RESOLVED.value
        if event.topic == "ticket.status_changed" and resolved:
            await desk.ticket_resolved(ticket_id)
        else:
            await desk.ticket_changed(ticket_id)
