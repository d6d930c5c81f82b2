"""What the router and the SLA scheduler hand back to the I/O layer to act on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sessions.servicedesk.offers import Offer


@dataclass(frozen=True, slots=True)
class OfferMade:
    """A ticket was offered to an expert; tell the expert (WebSocket event)."""

    offer: Offer
    """The offer, pending."""


@dataclass(frozen=True, slots=True)
class OfferClosed:
    """An offer ended without an assignment (declined, expired, withdrawn)."""

    offer: Offer
    """The offer, in its final state."""


@dataclass(frozen=True, slots=True)
class TicketAssigned:
    """A ticket has an owner now; the I/O layer moves it to ``assigned`` in the store."""

    ticket_id: str
    """The ticket."""
    expert: str
    """Its new assignee."""
    by: str
    """Who decided: the expert who accepted, or the supervisor who assigned."""
    at: datetime
    """When."""
    offer_id: str | None = None
    """The accepted offer, None for a manual assignment."""


RoutingEvent = OfferMade | OfferClosed | TicketAssigned
