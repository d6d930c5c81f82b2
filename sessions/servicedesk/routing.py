"""Routing, sans I/O: the queue ordered by SLA deadline, matching, offers and fair load spread.

The router holds no sockets and no clock: every call takes ``now`` and returns the events
the service layer has to act on (tell an expert, write the assignment to the store).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sessions.exceptions import NotFoundError, ValidationError
from sessions.servicedesk.catalogue import Catalogue
from sessions.servicedesk.events import OfferClosed, OfferMade, RoutingEvent, TicketAssigned
from sessions.servicedesk.experts import ExpertProfile
from sessions.servicedesk.offers import Offer, OfferState
from sessions.servicedesk.presence import Presence, PresenceBoard
from sessions.tickets import Ticket

_NEVER = datetime.min.replace(tzinfo=UTC)


def routing_deadline(ticket: Ticket) -> datetime:
    """The deadline a queued ticket races against: response first, then resolution."""
    if ticket.first_response_at is None:
        return ticket.deadlines.response_due_at
    return ticket.deadlines.resolution_due_at


@dataclass(slots=True)
class QueueEntry:
    """A ticket waiting for an expert."""

    ticket_id: str
    """The ticket."""
    due_at: datetime
    """Deadline that orders the queue (earlier first)."""
    language: str
    """Language the requester needs."""
    skill_options: list[frozenset[str]]
    """For each requirement, the skills any one of which satisfies it."""
    enqueued_at: datetime
    """When it joined the queue (breaks ties between equal deadlines)."""
    excluded: set[str] = field(default_factory=set)
    """Experts who declined or let an offer lapse for this ticket."""

    def sort_key(self) -> tuple[datetime, datetime, str]:
        """Earlier deadline first, then first come, then id for a total order."""
        return (self.due_at, self.enqueued_at, self.ticket_id)

    def fits(self, expert: ExpertProfile) -> bool:
        """Skill and language match (ignores presence, duty and load)."""
        if self.language not in expert.languages:
            return False
        return all(option & expert.skills for option in self.skill_options)


class Router:
    """Queue of open tickets and the experts who can take them."""

    def __init__(
        self,
        catalogue: Catalogue,
        *,
        offer_timeout: timedelta = timedelta(seconds=60),
        holidays: Collection[date] = (),
    ) -> None:
        self.catalogue = catalogue
        self.offer_timeout = offer_timeout
        self.holidays = holidays
        self.presence = PresenceBoard()
        self._experts: dict[str, ExpertProfile] = {}
        self._queue: dict[str, QueueEntry] = {}
        self._offers: dict[str, Offer] = {}
        self._pending_by_ticket: dict[str, str] = {}
        self._pending_count: dict[str, int] = {}
        self._assigned: dict[str, set[str]] = {}
        self._last_taken: dict[str, datetime] = {}

    # -- experts ----------------------------------------------------------------------------

    def upsert_expert(self, profile: ExpertProfile) -> None:
        """Add an expert or replace their profile."""
        self._experts[profile.identity] = profile
        self._assigned.setdefault(profile.identity, set())

    def remove_expert(self, identity: str) -> list[RoutingEvent]:
        """Forget an expert; their pending offers are withdrawn."""
        self._experts.pop(identity, None)
        return self._withdraw_offers_of(identity)

    def expert(self, identity: str) -> ExpertProfile:
        """The profile of an expert, or NotFoundError."""
        try:
            return self._experts[identity]
        except KeyError:
            raise NotFoundError(f"no expert {identity}", identity=identity) from None

    def experts(self) -> list[ExpertProfile]:
        """Every known expert."""
        return list(self._experts.values())

    def set_presence(self, identity: str, state: Presence, now: datetime) -> list[RoutingEvent]:
        """Record presence; leaving ``online`` withdraws the expert's pending offers."""
        change = self.presence.set(identity, state, now)
        if change is None or state is Presence.ONLINE:
            return []
        return self._withdraw_offers_of(identity)

    def restore_assignments(self, identity: str, ticket_ids: Iterable[str]) -> None:
        """Tell the router which tickets an expert holds (after a restart, from the store)."""
        self._assigned[identity] = set(ticket_ids)

    def release(self, identity: str, ticket_id: str, now: datetime) -> None:
        """An expert no longer holds a ticket (resolved, handed over): capacity frees up."""
        held = self._assigned.get(identity)
        if held is not None and ticket_id in held:
            held.discard(ticket_id)
            self._last_taken[identity] = max(self._last_taken.get(identity, _NEVER), now)

    def hold(self, identity: str, ticket_id: str, now: datetime) -> list[RoutingEvent]:
        """Record that an expert took a ticket outside routing (joined its session directly)."""
        events = self._withdraw_offer_for(ticket_id)
        self._assign(ticket_id, identity, identity, now, None)
        return events

    def load(self, identity: str) -> int:
        """Tickets held plus offers pending: what counts against capacity."""
        return len(self._assigned.get(identity, ())) + self._pending_count.get(identity, 0)

    # -- queue ------------------------------------------------------------------------------

    def enqueue(self, ticket: Ticket, now: datetime, exclude: Iterable[str] = ()) -> QueueEntry:
        """Put a ticket in the queue (again); a re-queue keeps the experts it excluded.

        ``exclude`` adds experts who must not be offered it (the assignee who let it breach).
        """
        if not ticket.language:
            raise ValidationError(f"ticket {ticket.id} has no language")
        previous = self._queue.get(ticket.id)
        entry = QueueEntry(
            ticket_id=ticket.id,
            due_at=routing_deadline(ticket),
            language=ticket.language,
            skill_options=self.catalogue.skill_options(ticket),
            enqueued_at=previous.enqueued_at if previous else now,
            excluded=(previous.excluded if previous else set()) | set(exclude),
        )
        self._queue[ticket.id] = entry
        return entry

    def remove(self, ticket_id: str) -> list[RoutingEvent]:
        """Take a ticket out of the queue (cancelled, taken by hand); withdraw its offer."""
        self._queue.pop(ticket_id, None)
        return self._withdraw_offer_for(ticket_id)

    def queue(self) -> list[QueueEntry]:
        """Waiting tickets, earliest deadline first."""
        return sorted(self._queue.values(), key=QueueEntry.sort_key)

    def pending_offer(self, ticket_id: str) -> Offer | None:
        """The offer currently out for a ticket, if any."""
        offer_id = self._pending_by_ticket.get(ticket_id)
        return self._offers[offer_id] if offer_id else None

    def offer(self, offer_id: str) -> Offer:
        """An offer by id (any state), or NotFoundError."""
        try:
            return self._offers[offer_id]
        except KeyError:
            raise NotFoundError(f"no offer {offer_id}", offer_id=offer_id) from None

    # -- matching ---------------------------------------------------------------------------

    def eligible(self, entry: QueueEntry, expert: ExpertProfile, now: datetime) -> bool:
        """Could ``expert`` be offered ``entry`` right now?"""
        return (
            expert.identity not in entry.excluded
            and self.presence.get(expert.identity) is Presence.ONLINE
            and expert.on_duty(now, self.holidays)
            and self.load(expert.identity) < expert.capacity
            and entry.fits(expert)
        )

    def candidates(self, entry: QueueEntry, now: datetime) -> list[ExpertProfile]:
        """Eligible experts, best first: least loaded, then longest idle, then identity."""
        found = [e for e in self._experts.values() if self.eligible(entry, e, now)]
        return sorted(found, key=self._fairness_key)

    def _fairness_key(self, expert: ExpertProfile) -> tuple[float, datetime, str]:
        # Relative load, so a capacity-4 expert with 1 ticket ranks before capacity-1 with 1.
        share = self.load(expert.identity) / expert.capacity
        return (share, self._last_taken.get(expert.identity, _NEVER), expert.identity)

    # -- the clock moves --------------------------------------------------------------------

    def step(self, now: datetime) -> list[RoutingEvent]:
        """Expire lapsed offers, then offer waiting tickets in deadline order."""
        events: list[RoutingEvent] = self._expire(now)
        # Presence, duty and load are taken once per step and kept current as offers are
        # made, so a step costs one pass over the available experts per waiting ticket.
        room = self._room(now)
        for entry in self.queue():
            if not room:
                break
            if entry.ticket_id in self._pending_by_ticket:
                continue
            best = self._best(entry, room)
            if best is not None:
                events.append(self._make_offer(entry, best, now))
                room[best.identity] -= 1
                if room[best.identity] <= 0:
                    del room[best.identity]
        return events

    def _room(self, now: datetime) -> dict[str, int]:
        """Free capacity of every expert who is online and on duty now."""
        room = {}
        for expert in self._experts.values():
            if self.presence.get(expert.identity) is not Presence.ONLINE:
                continue
            free = expert.capacity - self.load(expert.identity)
            if free > 0 and expert.on_duty(now, self.holidays):
                room[expert.identity] = free
        return room

    def _best(self, entry: QueueEntry, room: dict[str, int]) -> ExpertProfile | None:
        fitting = [
            self._experts[who]
            for who in room
            if who not in entry.excluded and entry.fits(self._experts[who])
        ]
        return min(fitting, key=self._fairness_key, default=None)

    def next_wakeup(self) -> datetime | None:
        """When the earliest pending offer lapses (None when no offer is out)."""
        times = [self._offers[oid].expires_at for oid in self._pending_by_ticket.values()]
        return min(times, default=None)

    def _make_offer(self, entry: QueueEntry, expert: ExpertProfile, now: datetime) -> OfferMade:
        offer = Offer(entry.ticket_id, expert.identity, now, now + self.offer_timeout)
        self._offers[offer.id] = offer
        self._pending_by_ticket[entry.ticket_id] = offer.id
        self._pending_count[offer.expert] = self._pending_count.get(offer.expert, 0) + 1
        return OfferMade(offer)

    def _expire(self, now: datetime) -> list[RoutingEvent]:
        events: list[RoutingEvent] = []
        for ticket_id, offer_id in list(self._pending_by_ticket.items()):
            offer = self._offers[offer_id]
            if offer.expire(now):
                self._close_offer(ticket_id, offer, exclude=True)
                events.append(OfferClosed(offer))
        return events

    # -- answers ----------------------------------------------------------------------------

    def accept(self, offer_id: str, expert: str, now: datetime) -> TicketAssigned:
        """The expert takes the ticket. Raises OfferExpiredError once the offer lapsed."""
        offer = self.offer(offer_id)
        try:
            offer.accept(expert, now)
        finally:
            if offer.state is OfferState.EXPIRED:
                self._close_offer(offer.ticket_id, offer, exclude=True)
        self._drop_pending(offer.ticket_id)
        return self._assign(offer.ticket_id, expert, expert, now, offer.id)

    def decline(self, offer_id: str, expert: str, now: datetime) -> list[RoutingEvent]:
        """The expert passes; the ticket goes to the next candidate."""
        offer = self.offer(offer_id)
        try:
            offer.decline(expert, now)
        finally:
            if offer.state in (OfferState.EXPIRED, OfferState.DECLINED):
                self._close_offer(offer.ticket_id, offer, exclude=True)
        return [OfferClosed(offer), *self.step(now)]

    def assign(
        self, ticket_id: str, expert: str, supervisor: str, now: datetime
    ) -> list[RoutingEvent]:
        """A supervisor assigns by hand; presence and capacity are theirs to judge."""
        self.expert(expert)
        events = self._withdraw_offer_for(ticket_id)
        events.append(self._assign(ticket_id, expert, supervisor, now, None))
        return events

    def _assign(
        self, ticket_id: str, expert: str, by: str, now: datetime, offer_id: str | None
    ) -> TicketAssigned:
        self._queue.pop(ticket_id, None)
        for held in self._assigned.values():
            held.discard(ticket_id)
        self._assigned.setdefault(expert, set()).add(ticket_id)
        self._last_taken[expert] = now
        return TicketAssigned(ticket_id, expert, by, now, offer_id)

    def _close_offer(self, ticket_id: str, offer: Offer, *, exclude: bool) -> None:
        if self._pending_by_ticket.get(ticket_id) == offer.id:
            self._drop_pending(ticket_id)
        entry = self._queue.get(ticket_id)
        if exclude and entry is not None:
            entry.excluded.add(offer.expert)

    def _drop_pending(self, ticket_id: str) -> str | None:
        """Forget the pending offer of a ticket (the one place pending counts go down)."""
        offer_id = self._pending_by_ticket.pop(ticket_id, None)
        if offer_id is not None:
            expert = self._offers[offer_id].expert
            self._pending_count[expert] -= 1
        return offer_id

    def _withdraw_offer_for(self, ticket_id: str) -> list[RoutingEvent]:
        offer_id = self._drop_pending(ticket_id)
        if offer_id is None:
            return []
        offer = self._offers[offer_id]
        offer.withdraw()
        return [OfferClosed(offer)]

    def _withdraw_offers_of(self, identity: str) -> list[RoutingEvent]:
        events: list[RoutingEvent] = []
        for ticket_id, offer_id in list(self._pending_by_ticket.items()):
            if self._offers[offer_id].expert == identity:
                events.extend(self._withdraw_offer_for(ticket_id))
        return events
