"""Feeds the event bus to the service desk.

Ticket events keep routing and the SLA clocks in line with the store; ticket, session and
recording events become webhooks. With several nodes every node sees every event, so only
the node that published an event turns it into a webhook or starts the aftercare: each
happens once.
"""

from __future__ import annotations

import logging

from sessions.bus import BusEvent, EventBus
from sessions.servicedesk.service import ServiceDesk
from sessions.tickets import TicketStatus

logger = logging.getLogger(__name__)

#: Event families forwarded to webhook subscribers.
WEBHOOK_FAMILIES = ("ticket.", "session.", "recording.")


class DeskBridge:
    """Subscribes the desk to the bus; ``attach()`` once at start-up."""

    def __init__(self, bus: EventBus, desk: ServiceDesk, node: str) -> None:
        self.bus = bus
        self.desk = desk
        self.node = node

    def attach(self) -> None:
        """Subscribe to the families the desk cares about."""
        for family in WEBHOOK_FAMILIES:
            self.bus.subscribe(family, self.on_event)

    async def on_event(self, event: BusEvent) -> None:
        """Forward one event: webhook (publishing node only), then routing for tickets."""
        ours = event.node == self.node
        if ours:
            await self.desk.publish(event.topic, {**event.data, "event_id": event.id})
        ticket_id = event.data.get("ticket_id")
        if not event.topic.startswith("ticket.") or not isinstance(ticket_id, str):
            return
        resolved = event.data.get("status") == TicketStatus.RESOLVED.value
        if ours and event.topic == "ticket.status_changed" and resolved:
            await self.desk.ticket_resolved(ticket_id)
        else:
            await self.desk.ticket_changed(ticket_id)
