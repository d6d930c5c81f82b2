"""Signaling command handlers, one per ``type``, registered with the schema that validates it."""

from __future__ import annotations

import importlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sessions.exceptions import InvalidStateError, NotFoundError, PermissionDeniedError
from sessions.session import Participant
from signaling.annotating import AnnotationFeature
from signaling.coaching import CoachingFeature
from signaling.room import Room
from signaling.rooms import RoomManager
from signaling.services import Services
from signaling.ws.connection import ProtocolError, SignalingConnection
from signaling.ws.messages import (
    AnnotateCommand,
    AnswerCommand,
    ChatCommand,
    Command,
    EndCommand,
    JoinCommand,
    LeaveCommand,
    ModerateCommand,
    MuteCommand,
    PingCommand,
    PublishCommand,
    RaiseHandCommand,
    SetExerciseCommand,
    SubscribeCommand,
    TrickleCommand,
    UnsubscribeCommand,
)

C = TypeVar("C", bound=Command)
Reply = dict[str, Any] | None
Handler = Callable[["CommandContext", Any], Awaitable[Reply]]

HANDLERS: dict[str, tuple[type[Command], Handler]] = {}


def handles(model: type[C]) -> Callable[[Callable[[CommandContext, C], Awaitable[Reply]]], Handler]:
    """Register a handler for the command type that ``model`` validates."""
    type_name = model.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]

    def decorator(handler: Callable[[CommandContext, C], Awaitable[Reply]]) -> Handler:
        HANDLERS[type_name] = (model, handler)
        return handler

    return decorator


@dataclass(slots=True)
class Membership:
    """The room and participant a connection has joined as."""

    room: Room
    participant: Participant


@dataclass(slots=True)
class CommandContext:
    """What a handler works with."""

    services: Services
    rooms: RoomManager
    connection: SignalingConnection
    membership: Membership | None

    @property
    def member(self) -> Membership:
        """The caller's membership; commands other than join need one."""
        if self.membership is None:
            raise InvalidStateError("join a session first")
        return self.membership


#: Modules whose ``@handles`` handlers extend the protocol (features add theirs here).
COMMAND_MODULES: list[str] = [
    "signaling.annotation_commands",
    "signaling.ws.recording_commands",
    "signaling.ws.desk_commands",
]


def load_command_modules() -> None:
    """Import every module that registers commands (idempotent)."""
    for name in COMMAND_MODULES:
        importlib.import_module(name)


class CommandDispatcher:
    """Validates each command against its schema and runs its handler."""

    def __init__(self, services: Services, rooms: RoomManager) -> None:
        load_command_modules()
        self.services = services
        self.rooms = rooms
        self.memberships: dict[str, Membership] = {}

    async def __call__(self, connection: SignalingConnection, message: dict[str, Any]) -> Reply:
        """Handle one command; raises on failure (the connection turns it into an error)."""
        type_name = message.get("type")
        entry = HANDLERS.get(type_name) if isinstance(type_name, str) else None
        metrics = self.services.metrics.ws_messages
        if entry is None:
            metrics.labels("unknown", "error").inc()
            error = ProtocolError(
                f"unknown command type {type_name!r}; known: {', '.join(sorted(HANDLERS))}"
            )
            error.code = "unknown_command"
            raise error
        model, handler = entry
        try:
            command = model.model_validate(message)
            context = CommandContext(
                self.services, self.rooms, connection, self.memberships.get(connection.id)
            )
            reply = await handler(context, command)
        except Exception:
            metrics.labels(type_name, "error").inc()
            raise
        metrics.labels(type_name, "ok").inc()
        if isinstance(command, JoinCommand) and context.membership is not None:
            self.memberships[connection.id] = context.membership
        if isinstance(command, LeaveCommand):
            self.memberships.pop(connection.id, None)
        return reply

    async def connection_closed(self, connection: SignalingConnection) -> None:
        """The socket is gone: the room keeps the participant's place for the grace period."""
        membership = self.memberships.pop(connection.id, None)
        if membership is not None:
            await membership.room.connection_lost(membership.participant.id, connection)


# -- membership --------------------------------------------------------------------------


@handles(JoinCommand)
async def join(ctx: CommandContext, command: JoinCommand) -> Reply:
    """Join a live session; the reply is everything the client needs to start."""
    if ctx.membership is not None:
        raise InvalidStateError(f"already joined session {ctx.membership.room.id}")
    principal = ctx.connection.principal
    assert principal is not None
    room = await ctx.rooms.get_or_redirect(command.session_id)
    await _require_ticket_access(ctx, room, principal.identity, principal.is_staff)
    participant = await room.join(ctx.connection, principal, command.name)
    ctx.membership = Membership(room, participant)
    ice = ctx.services.ice.servers_for(principal.identity, int(time.time()))
    return {
        "participant_id": participant.id,
        "session": room.snapshot(),
        "ice_servers": [server.to_json() for server in ice],
        "grants": {
            "can_publish": participant.grants.can_publish and not participant.hidden,
            "can_subscribe": participant.grants.can_subscribe,
            "can_annotate": participant.grants.can_annotate,
            "can_moderate": participant.grants.can_moderate,
            "can_record": participant.grants.can_record,
            "hidden": participant.hidden,
        },
    }


async def _require_ticket_access(
    ctx: CommandContext, room: Room, identity: str, is_staff: bool
) -> None:
    if is_staff:
        return
    ticket = await ctx.services.store.get_ticket(room.session.ticket_id)
    # Group onboarding admits anyone the trainer hands a room-bound token to.
    if room.session.kind.value == "group_onboarding" or identity in {
        ticket.requester,
        ticket.patient,
    }:
        return
    raise NotFoundError(f"no live session {room.id} on this node")


@handles(LeaveCommand)
async def leave(ctx: CommandContext, command: LeaveCommand) -> Reply:
    """Leave for good."""
    member = ctx.member
    await member.room.leave(member.participant.id)
    ctx.membership = None
    return {}


@handles(EndCommand)
async def end(ctx: CommandContext, command: EndCommand) -> Reply:
    """End the session for everyone."""
    member = ctx.member
    if not member.participant.grants.can_moderate:
        raise PermissionDeniedError("ending a session needs can_moderate")
    # Reply before ending: ending closes this very connection.
    ctx.connection.send({"id": command.id, "ok": True})
    await member.room.end(member.participant.identity, "ended by a moderator")
    return None


# -- media ---------------------------------------------------------------------------------


@handles(PublishCommand)
async def publish(ctx: CommandContext, command: PublishCommand) -> Reply:
    """Answer the caller's offer; its tracks become producers everyone is told about."""
    member = ctx.member
    grants = member.participant.grants
    if not grants.can_publish or member.participant.hidden:
        raise PermissionDeniedError("publishing needs can_publish")
    result = await member.room.router.publish(member.participant.id, command.sdp)
    return {
        "transport_id": result.transport_id,
        "sdp": result.answer_sdp,
        "producer_ids": result.producer_ids,
    }


@handles(SubscribeCommand)
async def subscribe(ctx: CommandContext, command: SubscribeCommand) -> Reply:
    """Offer the requested producers on a new receive transport."""
    member = ctx.member
    if not member.participant.grants.can_subscribe:
        raise PermissionDeniedError("subscribing needs can_subscribe")
    router = member.room.router
    for producer_id in command.producer_ids:
        router.producer(producer_id)  # NotFoundError names the missing one
    result = await router.subscribe(member.participant.id, list(command.producer_ids))
    return {
        "transport_id": result.transport_id,
        "sdp": result.offer_sdp,
        "consumer_ids": result.consumer_ids,
    }


def _own_transport(ctx: CommandContext, transport_id: str) -> None:
    member = ctx.member
    transport = member.room.router.transport(transport_id)
    if transport.participant_id != member.participant.id:
        raise NotFoundError(f"no transport {transport_id}")


@handles(AnswerCommand)
async def answer(ctx: CommandContext, command: AnswerCommand) -> Reply:
    """Complete a subscription with the client's answer."""
    _own_transport(ctx, command.transport_id)
    await ctx.member.room.router.accept_answer(command.transport_id, command.sdp)
    return {}


@handles(TrickleCommand)
async def trickle(ctx: CommandContext, command: TrickleCommand) -> Reply:
    """Add a client ICE candidate."""
    _own_transport(ctx, command.transport_id)
    candidate = None if command.candidate is None else command.candidate.model_dump()
    await ctx.member.room.router.add_ice_candidate(command.transport_id, candidate)
    return {}


@handles(UnsubscribeCommand)
async def unsubscribe(ctx: CommandContext, command: UnsubscribeCommand) -> Reply:
    """Stop some of the caller's consumers."""
    member = ctx.member
    await member.room.router.unsubscribe(member.participant.id, list(command.consumer_ids))
    return {}


@handles(MuteCommand)
async def mute(ctx: CommandContext, command: MuteCommand) -> Reply:
    """Mute or unmute (own media, or another's as a moderator)."""
    member = ctx.member
    target = command.participant_id or member.participant.id
    events = member.room.session.set_muted(
        member.participant.id, target, command.media, command.muted
    )
    await member.room.apply(events)
    return {}


# -- conversation and moderation -----------------------------------------------------------


@handles(ChatCommand)
async def chat(ctx: CommandContext, command: ChatCommand) -> Reply:
    """Send a chat message to the session."""
    member = ctx.member
    message = member.room.chat(member.participant, command.text)
    return {"at": message["at"]}


@handles(RaiseHandCommand)
async def raise_hand(ctx: CommandContext, command: RaiseHandCommand) -> Reply:
    """Raise or lower one's hand."""
    member = ctx.member
    await member.room.apply(member.room.session.raise_hand(member.participant.id, command.raised))
    return {}


@handles(ModerateCommand)
async def moderate(ctx: CommandContext, command: ModerateCommand) -> Reply:
    """Remove, lock, unlock or spotlight."""
    member = ctx.member
    session, actor = member.room.session, member.participant.id
    if command.action == "remove":
        if command.participant_id is None:
            raise InvalidStateError("remove needs participant_id")
        events = session.remove(actor, command.participant_id)
    elif command.action in {"lock", "unlock"}:
        events = session.set_locked(actor, command.action == "lock")
    else:
        events = session.set_spotlight(actor, command.participant_id)
    await member.room.apply(events)
    return {}


@handles(PingCommand)
async def ping(ctx: CommandContext, command: PingCommand) -> Reply:
    """Answer with the server time."""
    return {"server_time": ctx.services.clock.now().isoformat()}


@handles(AnnotateCommand)
async def annotate(ctx: CommandContext, command: AnnotateCommand) -> Reply:
    """Draw, point, undo, clear, freeze or pin; fanned out in sequence order."""
    member = ctx.member
    return member.room.feature(AnnotationFeature).annotate(member.participant, command.annotation)


@handles(SetExerciseCommand)
async def set_exercise(ctx: CommandContext, command: SetExerciseCommand) -> Reply:
    """Switch the exercise the server analyses on a participant's video."""
    member = ctx.member
    target = command.participant_id or member.participant.id
    coaching = member.room.feature(CoachingFeature)
    switched = coaching.set_exercise(member.participant, target, command.exercise)
    return {"streams": switched}
