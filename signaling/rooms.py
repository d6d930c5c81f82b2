"""The rooms of this node: session id -> Room, created from tickets, ended and cleaned up."""

from __future__ import annotations

import logging
from datetime import timedelta

from media.router import Router
from sessions.exceptions import InvalidStateError, NotFoundError
from sessions.ids import new_id
from sessions.room_registry import RoomLocation
from sessions.session import RecordingPolicy, Session, SessionKind, SessionState
from sessions.tickets import ACTIVE_STATUSES, Ticket
from signaling.room import Room
from signaling.services import Services

log = logging.getLogger(__name__)


class WrongNodeError(NotFoundError):
    """The room lives on another node; the client should reconnect there."""

    code = "wrong_node"


class RoomManager:
    """Owns every live Room of the node (the SessionManager of DESIGN.md)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._rooms: dict[str, Room] = {}

    def __len__(self) -> int:
        return len(self._rooms)

    def get(self, session_id: str) -> Room:
        """The live room of a session, or NotFoundError."""
        room = self._rooms.get(session_id)
        if room is None:
            raise NotFoundError(f"no live session {session_id} on this node")
        return room

    async def get_or_redirect(self, session_id: str) -> Room:
        """The room if it lives here; WrongNodeError naming its node if it lives elsewhere."""
        room = self._rooms.get(session_id)
        if room is not None:
            return room
        location = await self.services.room_registry.locate(session_id)
        if location is not None and location.node != self.node_id:
            raise WrongNodeError(
                f"session {session_id} lives on node {location.node}",
                node=location.node,
                url=location.url,
            )
        raise NotFoundError(f"no live session {session_id}")

    @property
    def node_id(self) -> str:
        """This node's id."""
        return self.services.settings.node_id or "local"

    def live_for_ticket(self, ticket_id: str) -> list[Room]:
        """The ticket's sessions that are live now."""
        return [r for r in self._rooms.values() if r.session.ticket_id == ticket_id]

    async def create(
        self,
        ticket: Ticket,
        kind: SessionKind,
        created_by: str,
        recording_policy: RecordingPolicy = RecordingPolicy.OFF,
    ) -> Room:
        """Open a live session for a ticket that is still being worked on."""
        if ticket.status not in ACTIVE_STATUSES:
            raise InvalidStateError(
                f"cannot start a session on a ticket in status {ticket.status.value}",
                current=ticket.status.value,
            )
        settings = self.services.settings
        session = Session(
            id=new_id("ses"),
            ticket_id=ticket.id,
            kind=kind,
            created_by=created_by,
            max_participants=settings.max_participants,
            reconnect_grace=timedelta(seconds=settings.reconnect_grace_s),
            recording_policy=recording_policy,
        )
        now = self.services.clock.now()
        await self.services.store.create_session_record(
            session_id=session.id,
            ticket_id=ticket.id,
            kind=kind.value,
            state=session.state.value,
            created_by=created_by,
            recording_policy=recording_policy.value,
            node=self.node_id,
            now=now,
        )
        await self.services.store.append_timeline(
            ticket.id,
            actor=created_by,
            action="session_created",
            data={"session_id": session.id, "kind": kind.value},
            now=now,
        )
        router = Router(session.id, ice_servers=None)
        room = Room(session, self.services, router, self._forget, targets=ticket.targets)
        self._rooms[session.id] = room
        await self.services.room_registry.claim(
            session.id, RoomLocation(self.node_id, settings.resolved_public_url())
        )
        self.services.metrics.sessions_live.set(len(self._rooms))
        log.info("session %s created for ticket %s (%s)", session.id, ticket.id, kind.value)
        return room

    async def _forget(self, room: Room) -> None:
        self._rooms.pop(room.id, None)
        self.services.metrics.sessions_live.set(len(self._rooms))
        await self.services.room_registry.release(room.id)

    async def close(self) -> None:
        """End every room (node shutdown); their records say so."""
        for room in list(self._rooms.values()):
            await room.end("system", "server shutdown")

    async def close_orphans(self) -> None:
        """Mark sessions a previous run of this node left open as closed: their media is gone."""
        store, now = self.services.store, self.services.clock.now()
        node = self.node_id
        for record in await store.list_open_session_records(node=node):
            await store.update_session_record(
                record.id, state=SessionState.CLOSED.value, ended_at=now
            )
            await store.append_timeline(
                record.ticket_id,
                actor="system",
                action="session_ended",
                data={"session_id": record.id, "reason": "node restarted"},
                now=now,
            )
