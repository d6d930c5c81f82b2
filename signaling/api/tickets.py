"""Ticket endpoints: create, list, get, update, transition, timeline."""

from __future__ import annotations

from typing import Any

from sessions.sla import ClockStatus, SlaState, sla_state
from sessions.tickets import Ticket
from signaling import access
from signaling.api.registry import ApiRegistry, Call
from signaling.api.ticket_models import (
    SlaClockOut,
    TicketCreate,
    TicketOut,
    TicketPage,
    TicketQuery,
    TicketTransition,
    TicketUpdate,
    TimelineEntryOut,
    device_from,
    ticket_out,
    timeline_out,
)
from signaling.keys import SERVICES_KEY
from signaling.services import Services

TAGS = ("tickets",)


def _services(call: Call[Any, Any]) -> Services:
    return call.request.app[SERVICES_KEY]


def _clock_out(status: ClockStatus) -> SlaClockOut:
    remaining = None if status.remaining is None else status.remaining.total_seconds()
    return SlaClockOut(due_at=status.due_at, state=status.state.value, remaining_s=remaining)


def _event(ticket: Ticket, actor: str) -> dict[str, Any]:
    """The payload of ticket events (webhooks carry it)."""
    return {
        "ticket_id": ticket.id,
        "status": ticket.status.value,
        "tier": ticket.tier.value,
        "kind": ticket.kind.value,
        "assignee": ticket.assignee,
        "actor": actor,
    }


def present(services: Services, ticket: Ticket) -> TicketOut:
    """A ticket with its SLA clocks evaluated now."""
    state: SlaState = sla_state(ticket, services.clock.now(), services.policy)
    clocks = {
        "response": _clock_out(state.response),
        "resolution": _clock_out(state.resolution),
        "callback": _clock_out(state.callback),
    }
    return ticket_out(ticket, clocks, state.overall.value)


async def create_ticket(call: Call[TicketCreate, None]) -> TicketOut:
    """Open a ticket; its SLA deadlines are computed and stored now."""
    services, body = _services(call), call.body
    requester = access.require_create(call.caller, body.requester)
    ticket = await services.store.create_ticket(
        kind=body.kind,
        tier=body.tier,
        title=body.title,
        description=body.description,
        device=device_from(body.device),
        requester=requester,
        patient=body.patient,
        language=body.language,
        targets={name: t.model_dump(exclude_none=True) for name, t in body.targets.items()},
        actor=call.caller.identity,
        now=services.clock.now(),
        policy=services.policy,
    )
    await services.bus.publish("ticket.created", _event(ticket, call.caller.identity))
    return present(services, ticket)


async def list_tickets(call: Call[None, TicketQuery]) -> TicketPage:
    """Tickets the caller may see, newest first, filtered and paginated."""
    services, query = _services(call), call.query
    party = None if call.caller.is_staff else call.caller.identity
    tickets, next_cursor = await services.store.list_tickets(
        status=query.status,
        tier=query.tier,
        kind=query.kind,
        assignee=query.assignee,
        party=party,
        limit=query.limit,
        cursor=query.cursor,
    )
    return TicketPage(items=[present(services, t) for t in tickets], next_cursor=next_cursor)


async def get_ticket(call: Call[None, None]) -> TicketOut:
    """One ticket."""
    services = _services(call)
    ticket = await services.store.get_ticket(call.path("ticket_id"))
    access.require_view(call.caller, ticket)
    return present(services, ticket)


async def update_ticket(call: Call[TicketUpdate, None]) -> TicketOut:
    """Change the given fields; the timeline records old and new values."""
    services, body = _services(call), call.body
    ticket = await services.store.get_ticket(call.path("ticket_id"))
    access.require_update(call.caller, ticket, body.assignee)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True, exclude={"expected_version"})
    if "device" in changes:
        changes["device"] = device_from(body.device)
    if "targets" in changes and body.targets is not None:
        changes["targets"] = {n: t.model_dump(exclude_none=True) for n, t in body.targets.items()}
    updated = await services.store.update_ticket(
        ticket.id,
        changes,
        actor=call.caller.identity,
        now=services.clock.now(),
        expected_version=body.expected_version,
    )
    if updated.version != ticket.version:
        await services.bus.publish("ticket.updated", _event(updated, call.caller.identity))
    return present(services, updated)


async def transition_ticket(call: Call[TicketTransition, None]) -> TicketOut:
    """Move the ticket to another status (409 naming the current one when not allowed)."""
    services, body = _services(call), call.body
    ticket = await services.store.get_ticket(call.path("ticket_id"))
    access.require_transition(call.caller, ticket, body.status)
    moved = await services.store.transition_ticket(
        ticket.id,
        body.status,
        actor=call.caller.identity,
        now=services.clock.now(),
        policy=services.policy,
        note=body.note,
    )
    await services.bus.publish(
        "ticket.status_changed",
        {**_event(moved, call.caller.identity), "from": ticket.status.value},
    )
    return present(services, moved)


async def ticket_timeline(call: Call[None, None]) -> list[TimelineEntryOut]:
    """Everything that happened to the ticket, oldest first."""
    services = _services(call)
    ticket = await services.store.get_ticket(call.path("ticket_id"))
    access.require_view(call.caller, ticket)
    return [timeline_out(e) for e in await services.store.list_timeline(ticket.id)]


def register(registry: ApiRegistry) -> None:
    """Add the ticket endpoints."""
    route = registry.route
    route(
        "POST",
        "/api/tickets",
        summary="Open a ticket",
        tags=TAGS,
        body=TicketCreate,
        response=TicketOut,
        status=201,
    )(create_ticket)
    route(
        "GET",
        "/api/tickets",
        summary="List tickets",
        tags=TAGS,
        query=TicketQuery,
        response=TicketPage,
    )(list_tickets)
    route(
        "GET",
        "/api/tickets/{ticket_id}",
        summary="Get a ticket",
        tags=TAGS,
        response=TicketOut,
        errors=(404,),
    )(get_ticket)
    route(
        "PATCH",
        "/api/tickets/{ticket_id}",
        summary="Update a ticket",
        tags=TAGS,
        body=TicketUpdate,
        response=TicketOut,
        errors=(404, 409),
    )(update_ticket)
    route(
        "POST",
        "/api/tickets/{ticket_id}/transition",
        summary="Change a ticket's status",
        tags=TAGS,
        body=TicketTransition,
        response=TicketOut,
        errors=(404, 409),
    )(transition_ticket)
    route(
        "GET",
        "/api/tickets/{ticket_id}/timeline",
        summary="A ticket's timeline",
        tags=TAGS,
        response=list[TimelineEntryOut],
        errors=(404,),
    )(ticket_timeline)
