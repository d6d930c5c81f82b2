"""Signaling commands (client -> server) as pydantic models, one per ``type``.

Every command carries a positive, strictly increasing ``id`` that its reply echoes. Unknown
fields are refused, so a typo in a client is an error reply, not a silently ignored field.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

PROTOCOL_VERSION = 1
"""Bumped on any incompatible change; sent in ``auth_ok``."""

_SDP_LINE = re.compile(r"^[a-z]=.*$")


def _check_sdp(text: str) -> str:
    """Refuse text that is not a session description with at least one media section."""
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line]
    if not lines or lines[0] != "v=0":
        raise ValueError("SDP must start with v=0")
    bad = next((line for line in lines if not _SDP_LINE.match(line)), None)
    if bad is not None:
        raise ValueError(f"SDP line is not of the form x=...: {bad[:40]!r}")
    if not any(line.startswith("m=") for line in lines):
        raise ValueError("SDP has no media section")
    return text


Sdp = Annotated[str, StringConstraints(min_length=1, max_length=60_000), AfterValidator(_check_sdp)]
ObjectId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w-]+$")]


class Command(BaseModel):
    """Base of every command."""

    model_config = ConfigDict(extra="forbid")

    id: int = Field(ge=1, description="Positive, strictly increasing per connection.")
    type: str


class AuthMessage(BaseModel):
    """The first message on a connection."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["auth"]
    token: Annotated[str, StringConstraints(min_length=1, max_length=8192)]


class JoinCommand(Command):
    """Enter a session (or take one's place back after a dropped link)."""

    type: Literal["join"]
    session_id: ObjectId
    name: Annotated[str, StringConstraints(min_length=1, max_length=80)] | None = None


class PublishCommand(Command):
    """Send media: an SDP offer with send-only tracks; the reply carries the answer."""

    type: Literal["publish"]
    sdp: Sdp


class SubscribeCommand(Command):
    """Receive producers' media: the reply carries a server SDP offer to answer."""

    type: Literal["subscribe"]
    producer_ids: list[ObjectId] = Field(min_length=1, max_length=64)


class AnswerCommand(Command):
    """The SDP answer to a server offer from ``subscribe``."""

    type: Literal["answer"]
    transport_id: ObjectId
    sdp: Sdp


class IceCandidateIn(BaseModel):
    """A browser ICE candidate (RTCIceCandidateInit)."""

    model_config = ConfigDict(extra="ignore")

    candidate: Annotated[str, StringConstraints(max_length=1024)]
    sdpMid: str | None = None
    sdpMLineIndex: int | None = Field(None, ge=0, le=64)


class TrickleCommand(Command):
    """An ICE candidate for one of the caller's transports; null ends the candidates."""

    type: Literal["trickle"]
    transport_id: ObjectId
    candidate: IceCandidateIn | None


class UnsubscribeCommand(Command):
    """Stop receiving some consumers."""

    type: Literal["unsubscribe"]
    consumer_ids: list[ObjectId] = Field(min_length=1, max_length=64)


class MuteCommand(Command):
    """Mute or unmute audio or video: one's own, or another's with can_moderate."""

    type: Literal["mute"]
    media: Literal["audio", "video"]
    muted: bool
    participant_id: ObjectId | None = None


class ChatCommand(Command):
    """A chat message to everyone in the session."""

    type: Literal["chat"]
    text: Annotated[str, StringConstraints(min_length=1, max_length=4000)]


class LeaveCommand(Command):
    """Leave the session for good."""

    type: Literal["leave"]


class ModerateCommand(Command):
    """Moderation (can_moderate): remove, lock, unlock, spotlight (participant_id or null)."""

    type: Literal["moderate"]
    action: Literal["remove", "lock", "unlock", "spotlight"]
    participant_id: ObjectId | None = None


class RaiseHandCommand(Command):
    """Raise or lower one's hand."""

    type: Literal["raise_hand"]
    raised: bool


class PingCommand(Command):
    """Keep-alive and round-trip measurement."""

    type: Literal["ping"]


class AnnotateCommand(Command):
    """An annotation action; ``annotation`` is validated by the annotations package."""

    type: Literal["annotate"]
    annotation: dict[str, Any]


class SetExerciseCommand(Command):
    """Choose the exercise analysed on a participant's video (own, or any with can_moderate)."""

    type: Literal["set_exercise"]
    exercise: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    participant_id: ObjectId | None = None


class EndCommand(Command):
    """End the session for everyone (can_moderate)."""

    type: Literal["end"]
