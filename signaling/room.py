"""A live room on this node: the domain Session, its media Router and its connections.

The Room is the I/O shell around the sans-I/O Session: it feeds it commands with ``now``,
turns the events it returns into WebSocket messages, timeline entries and media actions, and
reacts to the Router's events. One Room per live session, owned by the RoomManager.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from media.events import ConsumerClosed, ProducerAdded, ProducerRemoved, TransportStateChanged
from media.router import Router
from sessions.events import (
    ParticipantDisconnected,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    SessionEvent,
    SessionSettingChanged,
    SessionStateChanged,
)
from sessions.exceptions import PermissionDeniedError
from sessions.session import Participant, Session, SessionState
from sessions.tickets import TicketStatus
from signaling.auth import Principal
from signaling.features import RoomFeature, feature_classes
from signaling.services import Services
from signaling.ws.connection import CLOSE_REMOVED, SignalingConnection, encode

log = logging.getLogger(__name__)
F = TypeVar("F", bound=RoomFeature)

#: Ticket statuses from which a session going live moves the ticket to in_session.
_TO_IN_SESSION = frozenset({TicketStatus.OPEN, TicketStatus.ASSIGNED, TicketStatus.ESCALATED})


def participant_view(participant: Participant) -> dict[str, Any]:
    """How other participants see someone."""
    return {
        "id": participant.id,
        "identity": participant.identity,
        "name": participant.name,
        "role": participant.role.value,
        "state": participant.state.value,
        "hand_raised": participant.hand_raised,
        "audio_muted": participant.audio_muted,
        "video_muted": participant.video_muted,
    }


class Room:
    """One live session on this node."""

    def __init__(
        self,
        session: Session,
        services: Services,
        router: Router,
        on_closed: Callable[[Room], Awaitable[None]],
        targets: dict[str, Any] | None = None,
    ) -> None:
        self.session = session
        self.services = services
        self.router = router
        self.targets = dict(targets or {})
        self.connections: dict[str, SignalingConnection] = {}
        self._on_closed = on_closed
        self._expiry: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self.features: list[RoomFeature] = [cls(self) for cls in feature_classes()]
        router.on_event(self._on_router_event)

    @property
    def id(self) -> str:
        """The session id."""
        return self.session.id

    def feature(self, cls: type[F]) -> F:
        """The room's feature of a class."""
        for feature in self.features:
            if isinstance(feature, cls):
                return feature
        raise LookupError(f"room has no {cls.__name__}")

    # -- views ---------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The session as a newcomer needs it: state, people, tracks, moderation settings."""
        visible = {p.id for p in self.session.visible_participants()}
        return {
            "id": self.session.id,
            "ticket_id": self.session.ticket_id,
            "kind": self.session.kind.value,
            "state": self.session.state.value,
            "locked": self.session.locked,
            "spotlight": self.session.spotlight,
            "recording_policy": self.session.recording_policy.value,
            "participants": [participant_view(p) for p in self.session.visible_participants()],
            "producers": [
                {
                    "id": p.id,
                    "participant_id": p.participant_id,
                    "kind": p.kind,
                    "codec": p.codec,
                    "paused": p.paused,
                }
                for p in self.router.producers()
                if p.participant_id in visible
            ],
        } | self._feature_snapshots()

    def _feature_snapshots(self) -> dict[str, Any]:
        snapshots = {}
        for feature in self.features:
            snapshot = feature.snapshot()
            if snapshot is not None:
                snapshots[feature.name] = snapshot
        return snapshots

    # -- membership ----------------------------------------------------------------------

    async def join(
        self, connection: SignalingConnection, principal: Principal, name: str | None
    ) -> Participant:
        """Admit the caller (or take back its place) and bind the connection to it."""
        participant, events = self.session.join(
            principal.identity,
            name or principal.name,
            principal.role,
            principal.grants,
            self.services.clock.now(),
            language=principal.language,
        )
        previous = self.connections.get(participant.id)
        if previous is not None and previous is not connection:
            # The same participant came back on a new link before the old one noticed.
            previous.close(4009, "replaced by a newer connection")
            await self.router.close_participant(participant.id)
        self.connections[participant.id] = connection
        await self.apply(events, exclude=participant.id)
        return participant

    async def connection_lost(self, participant_id: str, connection: SignalingConnection) -> None:
        """The participant's WebSocket closed without a leave: keep its place for a while."""
        if self.connections.get(participant_id) is not connection or self._closing:
            return
        del self.connections[participant_id]
        if self.session.state in {SessionState.ENDING, SessionState.CLOSED}:
            return
        await self.router.close_participant(participant_id)
        events = self.session.disconnect(participant_id, self.services.clock.now())
        await self.apply(events)
        self._schedule_expiry()

    async def leave(self, participant_id: str) -> None:
        """The participant leaves on purpose."""
        self.connections.pop(participant_id, None)
        await self.apply(self.session.leave(participant_id))

    def _schedule_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        due = self.session.next_expiry()
        if due is None:
            return
        delay = max(0.0, (due - self.services.clock.now()).total_seconds())
        loop = asyncio.get_running_loop()
        self._expiry = loop.call_later(delay, lambda: self._spawn(self._expire()))

    async def _expire(self) -> None:
        self._expiry = None
        await self.apply(self.session.expire(self.services.clock.now()))
        self._schedule_expiry()

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- messaging -----------------------------------------------------------------------

    def broadcast(self, message: dict[str, Any], exclude: str | None = None) -> None:
        """Send a server event to every connected participant but ``exclude``."""
        text = encode(message)
        for participant_id, connection in list(self.connections.items()):
            if participant_id != exclude:
                connection.send_text(text)

    def send_to(self, participant_id: str, message: dict[str, Any]) -> None:
        """Send a server event to one participant, if connected."""
        connection = self.connections.get(participant_id)
        if connection is not None:
            connection.send(message)

    def chat(self, participant: Participant, text: str) -> dict[str, Any]:
        """Relay a chat message to everyone and keep it on the ticket timeline."""
        if participant.hidden:
            raise PermissionDeniedError("hidden monitors do not chat")
        message = {
            "type": "chat",
            "participant_id": participant.id,
            "name": participant.name,
            "text": text,
            "at": self.services.clock.now().isoformat(),
        }
        self.broadcast(message)
        for feature in self.features:
            _guarded(feature.chat, participant, message)
        self._spawn(self.timeline(participant.identity, "session_chat", {"text": text}))
        return message

    # -- domain events -------------------------------------------------------------------

    async def apply(self, events: list[SessionEvent], exclude: str | None = None) -> None:
        """Carry out what the session's events mean for sockets, media, store and ticket."""
        for event in events:
            await self._apply_one(event, exclude)

    async def _apply_one(self, event: SessionEvent, exclude: str | None) -> None:
        if isinstance(event, SessionStateChanged):
            await self._on_state(event)
        elif isinstance(event, ParticipantJoined):
            await self._on_joined(event, exclude)
        elif isinstance(event, ParticipantDisconnected):
            self.broadcast(
                {"type": "participant_disconnected", "participant_id": event.participant_id}
            )
        elif isinstance(event, ParticipantLeft):
            await self._on_left(event)
        elif isinstance(event, ParticipantUpdated):
            self._on_updated(event)
        elif isinstance(event, SessionSettingChanged):
            self.broadcast(
                {
                    "type": "session_updated",
                    "setting": event.setting,
                    "value": event.value,
                    "by": event.by,
                }
            )

    async def _on_state(self, event: SessionStateChanged) -> None:
        self.broadcast({"type": "session_state", "state": event.new})
        now = self.services.clock.now()
        store = self.services.store
        await store.update_session_record(self.id, state=event.new, **_times(event.new, now))
        await self.timeline("system", "session_state", {"from": event.old, "to": event.new})
        await self.services.bus.publish(
            f"session.{event.new}",
            {
                "session_id": self.id,
                "ticket_id": self.session.ticket_id,
                "kind": self.session.kind.value,
            },
        )
        if event.new == SessionState.ACTIVE.value:
            await self._move_ticket(_TO_IN_SESSION, TicketStatus.IN_SESSION)
        elif event.new == SessionState.CLOSED.value:
            await self._move_ticket(frozenset({TicketStatus.IN_SESSION}), TicketStatus.ASSIGNED)

    async def _on_joined(self, event: ParticipantJoined, exclude: str | None) -> None:
        participant = self.session.participants[event.participant_id]
        if not participant.hidden:
            self.broadcast(
                {
                    "type": "participant_joined",
                    "participant": participant_view(participant),
                    "reconnected": event.reconnected,
                },
                exclude=exclude,
            )
        for feature in self.features:
            await _guard(feature.participant_joined(participant, event.reconnected))
        action = "session_rejoined" if event.reconnected else "session_joined"
        await self.timeline(
            event.identity,
            action,
            {
                "participant_id": participant.id,
                "role": participant.role.value,
                "hidden": participant.hidden,
            },
        )

    async def _on_left(self, event: ParticipantLeft) -> None:
        connection = self.connections.pop(event.participant_id, None)
        if connection is not None and event.reason == "removed":
            connection.send({"type": "removed", "session_id": self.id})
            connection.close(CLOSE_REMOVED, "removed by a moderator")
        await self.router.close_participant(event.participant_id)
        participant = self.session.participants[event.participant_id]
        if not participant.hidden:
            self.broadcast(
                {
                    "type": "participant_left",
                    "participant_id": event.participant_id,
                    "reason": event.reason,
                }
            )
        await self.timeline(
            event.identity,
            "session_left",
            {"participant_id": event.participant_id, "reason": event.reason},
        )
        if not self.session.present_participants() and self.session.state in {
            SessionState.WAITING,
            SessionState.ACTIVE,
        }:
            self._spawn(self.end("system", "everyone left"))

    def _on_updated(self, event: ParticipantUpdated) -> None:
        self.broadcast(
            {
                "type": "participant_updated",
                "participant_id": event.participant_id,
                "field": event.field,
                "value": event.value,
                "by": event.by,
            }
        )
        if event.field in {"audio_muted", "video_muted"}:
            kind = event.field.removesuffix("_muted")
            for producer in self.router.producers():
                if producer.participant_id == event.participant_id and producer.kind == kind:
                    if event.value:
                        self.router.pause_producer(producer.id)
                    else:
                        self.router.resume_producer(producer.id)

    # -- media events --------------------------------------------------------------------

    def _on_router_event(self, event: object) -> None:
        if isinstance(event, ProducerAdded):
            self._producer_added(event)
            self.broadcast(
                {
                    "type": "producer_added",
                    "producer": {
                        "id": event.producer_id,
                        "participant_id": event.participant_id,
                        "kind": event.kind,
                        "codec": event.codec,
                        "paused": False,
                    },
                }
            )
        elif isinstance(event, ProducerRemoved):
            for feature in self.features:
                _guarded(feature.producer_removed, event.producer_id)
            self.broadcast(
                {
                    "type": "producer_removed",
                    "producer_id": event.producer_id,
                    "participant_id": event.participant_id,
                }
            )
        elif isinstance(event, TransportStateChanged):
            if event.state == "failed":
                # No ICE restart in aiortc: drop the dead media; the client publishes again.
                self._spawn(self.router.close_participant(event.participant_id))
            self.send_to(
                event.participant_id,
                {
                    "type": "transport_state",
                    "transport_id": event.transport_id,
                    "state": event.state,
                },
            )
        elif isinstance(event, ConsumerClosed):
            self.send_to(
                event.participant_id, {"type": "consumer_closed", "consumer_id": event.consumer_id}
            )

    def _producer_added(self, event: ProducerAdded) -> None:
        participant = self.session.participants.get(event.participant_id)
        if participant is None:
            return
        producer = self.router.producer(event.producer_id)
        for feature in self.features:
            _guarded(feature.producer_added, participant, producer)

    # -- ending --------------------------------------------------------------------------

    async def end(self, actor: str, reason: str = "ended") -> None:
        """End the session for everyone and release its media. Idempotent."""
        if self._closing:
            return
        self._closing = True
        if self._expiry is not None:
            self._expiry.cancel()
        try:
            await _guard(self.apply(self.session.end()))
            for feature in self.features:  # before anyone is told it ended: reports are ready
                await _guard(feature.closing())
            self.broadcast({"type": "session_ended", "reason": reason, "by": actor})
            for connection in list(self.connections.values()):
                connection.close(1000, "session ended")
            self.connections.clear()
            await _guard(self.router.close())
            await _guard(self.apply(self.session.close()))
            await self.timeline(actor, "session_ended", {"session_id": self.id, "reason": reason})
        finally:
            # Whatever failed above (the store busy, a peer that would not close), the room
            # must leave the node: otherwise it would be listed live forever.
            await self._on_closed(self)

    async def timeline(self, actor: str, action: str, data: dict[str, Any]) -> None:
        """Append to the ticket's timeline, tagged with this session; never raises."""
        try:
            await self.services.store.append_timeline(
                self.session.ticket_id,
                actor=actor,
                action=action,
                data={"session_id": self.id, **data},
                now=self.services.clock.now(),
            )
        except Exception:  # the timeline must never take the live session down
            log.exception("could not write %s to ticket %s", action, self.session.ticket_id)

    async def timeline_many(self, entries: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Append several entries to the ticket's timeline in one write; never raises."""
        tagged = [
            (actor, action, {"session_id": self.id, **data}) for actor, action, data in entries
        ]
        try:
            await self.services.store.append_timeline_many(
                self.session.ticket_id, tagged, now=self.services.clock.now()
            )
        except Exception:  # the timeline must never take the live session down
            log.exception(
                "could not write %d entries to ticket %s", len(entries), self.session.ticket_id
            )

    async def _move_ticket(self, sources: frozenset[TicketStatus], target: TicketStatus) -> None:
        store = self.services.store
        ticket = await store.get_ticket(self.session.ticket_id)
        if ticket.status not in sources:
            return
        with contextlib.suppress(Exception):  # a concurrent move wins; the session goes on
            await store.transition_ticket(
                ticket.id,
                target,
                actor="system",
                now=self.services.clock.now(),
                policy=self.services.policy,
                note=f"session {self.id}",
            )


async def _guard(hook: Awaitable[None]) -> None:
    """Run a feature hook; a failure is logged, the session goes on."""
    try:
        await hook
    except Exception:
        log.exception("room feature hook failed")


def _guarded(hook: Callable[..., None], *args: Any) -> None:
    try:
        hook(*args)
    except Exception:
        log.exception("room feature hook %s failed", getattr(hook, "__qualname__", hook))


def _times(state: str, now: Any) -> dict[str, Any]:
    if state == SessionState.ACTIVE.value:
        return {"started_at": now}
    if state == SessionState.CLOSED.value:
        return {"ended_at": now}
    return {}
