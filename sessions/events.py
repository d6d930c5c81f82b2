"""Events a live session emits; signaling turns them into server events on the WebSocket."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """Base of everything a Session reports."""

    session_id: str
    """The session."""


@dataclass(frozen=True, slots=True)
class SessionStateChanged(SessionEvent):
    """The session moved between lifecycle states."""

    old: str
    """Previous state."""
    new: str
    """Current state."""


@dataclass(frozen=True, slots=True)
class ParticipantJoined(SessionEvent):
    """Someone entered the session."""

    participant_id: str
    """Participant id (stable across reconnects)."""
    identity: str
    """User id."""
    reconnected: bool
    """True when a dropped participant came back within the grace period."""


@dataclass(frozen=True, slots=True)
class ParticipantDisconnected(SessionEvent):
    """A participant's link dropped; its place is kept until the grace period ends."""

    participant_id: str
    """Participant id."""


@dataclass(frozen=True, slots=True)
class ParticipantLeft(SessionEvent):
    """Someone is gone for good."""

    participant_id: str
    """Participant id."""
    identity: str
    """User id."""
    reason: str
    """``left``, ``removed``, ``timeout`` (grace expired) or ``session_ended``."""


@dataclass(frozen=True, slots=True)
class ParticipantUpdated(SessionEvent):
    """A participant's visible flags changed (hand raised, muted by a moderator)."""

    participant_id: str
    """Participant id."""
    field: str
    """Which flag: ``hand_raised``, ``audio_muted``, ``video_muted``."""
    value: bool
    """Its new value."""
    by: str
    """Identity that changed it."""


@dataclass(frozen=True, slots=True)
class SessionSettingChanged(SessionEvent):
    """A session-wide moderation setting changed."""

    setting: str
    """``locked`` or ``spotlight``."""
    value: str | bool | None
    """New value: a bool for ``locked``, a participant id or None for ``spotlight``."""
    by: str
    """Identity that changed it."""
