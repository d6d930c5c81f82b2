"""Live-session endpoints: start a session for a ticket, look at it, end it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from sessions.session import RecordingPolicy, SessionKind
from signaling import access
from signaling.api.registry import ApiRegistry, Call
from signaling.keys import ROOMS_KEY, SERVICES_KEY

TAGS = ("sessions",)


class SessionCreate(BaseModel):
    """Body of POST /api/tickets/{ticket_id}/sessions."""

    model_config = ConfigDict(extra="forbid")

    kind: SessionKind
    recording_policy: RecordingPolicy = RecordingPolicy.OFF


class ParticipantOut(BaseModel):
    """A visible participant of a live session."""

    id: str
    identity: str
    name: str
    role: str
    state: str
    hand_raised: bool
    audio_muted: bool
    video_muted: bool


class SessionOut(BaseModel):
    """A session: its record, and its people when it is live on this node."""

    id: str
    ticket_id: str
    kind: SessionKind
    state: str
    recording_policy: RecordingPolicy
    created_by: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    live: bool
    participants: list[ParticipantOut]


async def _session_out(call: Call[Any, Any], session_id: str) -> SessionOut:
    services, rooms = call.request.app[SERVICES_KEY], call.request.app[ROOMS_KEY]
    record = await services.store.get_session_record(session_id)
    ticket = await services.store.get_ticket(record.ticket_id)
    access.require_view(call.caller, ticket)
    live = [room for room in rooms.live_for_ticket(ticket.id) if room.id == session_id]
    participants = []
    if live:
        snapshot = live[0].snapshot()
        participants = [ParticipantOut.model_validate(p) for p in snapshot["participants"]]
    return SessionOut(
        id=record.id,
        ticket_id=record.ticket_id,
        kind=SessionKind(record.kind),
        state=live[0].session.state.value if live else record.state,
        recording_policy=RecordingPolicy(record.recording_policy),
        created_by=record.created_by,
        created_at=record.created_at,
        started_at=record.started_at,
        ended_at=record.ended_at,
        live=bool(live),
        participants=participants,
    )


async def create_session(call: Call[SessionCreate, None]) -> SessionOut:
    """Open a live session for the ticket; participants join it over /ws."""
    services, rooms = call.request.app[SERVICES_KEY], call.request.app[ROOMS_KEY]
    ticket = await services.store.get_ticket(call.path("ticket_id"))
    access.require_view(call.caller, ticket)
    room = await rooms.create(
        ticket, call.body.kind, call.caller.identity, call.body.recording_policy
    )
    return await _session_out(call, room.id)


async def get_session(call: Call[None, None]) -> SessionOut:
    """A session, live or finished."""
    return await _session_out(call, call.path("session_id"))


async def list_ticket_sessions(call: Call[None, None]) -> list[SessionOut]:
    """Every session of a ticket, oldest first."""
    services = call.request.app[SERVICES_KEY]
    ticket = await services.store.get_ticket(call.path("ticket_id"))
    access.require_view(call.caller, ticket)
    records = await services.store.list_session_records(ticket.id)
    return [await _session_out(call, record.id) for record in records]


async def end_session(call: Call[None, None]) -> SessionOut:
    """End a live session for everyone (staff with can_moderate)."""
    rooms = call.request.app[ROOMS_KEY]
    session_id = call.path("session_id")
    current = await _session_out(call, session_id)
    call.caller.require(call.caller.is_staff and call.caller.grants.can_moderate, "end sessions")
    if current.live:
        await rooms.get(session_id).end(call.caller.identity, "ended over the API")
    return await _session_out(call, session_id)


def register(registry: ApiRegistry) -> None:
    """Add the session endpoints."""
    route = registry.route
    route(
        "POST",
        "/api/tickets/{ticket_id}/sessions",
        summary="Start a live session",
        tags=TAGS,
        body=SessionCreate,
        response=SessionOut,
        status=201,
        errors=(404, 409),
    )(create_session)
    route(
        "GET",
        "/api/tickets/{ticket_id}/sessions",
        summary="A ticket's sessions",
        tags=TAGS,
        response=list[SessionOut],
        errors=(404,),
    )(list_ticket_sessions)
    route(
        "GET",
        "/api/sessions/{session_id}",
        summary="Get a session",
        tags=TAGS,
        response=SessionOut,
        errors=(404,),
    )(get_session)
    route(
        "POST",
        "/api/sessions/{session_id}/end",
        summary="End a live session",
        tags=TAGS,
        response=SessionOut,
        errors=(404,),
    )(end_session)
