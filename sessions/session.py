"""A live session (room) and its participants: a sans-I/O state machine.

Methods take ``now`` and return the events they caused; nothing here touches a socket, a
peer connection or the store. Signaling drives it and turns the events into messages.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sessions.events import (
    ParticipantDisconnected,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    SessionEvent,
    SessionSettingChanged,
    SessionStateChanged,
)
from sessions.exceptions import (
    InvalidStateError,
    InvalidTransitionError,
    LimitExceededError,
    NotFoundError,
    PermissionDeniedError,
)
from sessions.grants import Grants, Role
from sessions.ids import new_id

log = logging.getLogger(__name__)


class SessionKind(StrEnum):
    """What the session is for."""

    REMOTE_DIAGNOSIS = "remote_diagnosis"
    GUIDED_EXERCISE = "guided_exercise"
    GROUP_ONBOARDING = "group_onboarding"


class SessionState(StrEnum):
    """Lifecycle of a session."""

    CREATED = "created"
    WAITING = "waiting"
    ACTIVE = "active"
    ENDING = "ending"
    CLOSED = "closed"


class RecordingPolicy(StrEnum):
    """What the session may record."""

    OFF = "off"
    METRICS_ONLY = "metrics_only"
    FULL = "full"


_T = SessionState
SESSION_TRANSITIONS: dict[SessionState, frozenset[SessionState]] = {
    _T.CREATED: frozenset({_T.WAITING, _T.ENDING}),
    _T.WAITING: frozenset({_T.ACTIVE, _T.ENDING}),
    _T.ACTIVE: frozenset({_T.WAITING, _T.ENDING}),
    _T.ENDING: frozenset({_T.CLOSED}),
    _T.CLOSED: frozenset(),
}
JOINABLE = frozenset({_T.CREATED, _T.WAITING, _T.ACTIVE})


class ParticipantState(StrEnum):
    """Lifecycle of a participant."""

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    """Link lost; the place is kept until the grace period ends."""
    LEFT = "left"


@dataclass(slots=True)
class Participant:
    """Someone in the session."""

    id: str
    """``par_...``, stable across reconnects."""
    identity: str
    """User id."""
    name: str
    """Display name."""
    role: Role
    """Role from the token."""
    grants: Grants
    """Grants from the token."""
    joined_at: datetime
    """First join."""
    state: ParticipantState = ParticipantState.CONNECTED
    """Lifecycle state."""
    disconnected_at: datetime | None = None
    """When the link dropped, while DISCONNECTED."""
    hand_raised: bool = False
    """Trainee asks to speak."""
    audio_muted: bool = False
    """Muted by a moderator (or themselves)."""
    video_muted: bool = False
    """Camera paused by a moderator (or themselves)."""
    language: str = "en"
    """Language the participant is guided in (cues, messages)."""

    @property
    def hidden(self) -> bool:
        """Listed to nobody and publishing nothing (supervisor monitoring)."""
        return self.grants.hidden

    @property
    def present(self) -> bool:
        """Counts as in the session (connected, or within the grace period)."""
        return self.state is not ParticipantState.LEFT


@dataclass
class Session:
    """A live session of one ticket."""

    id: str
    """``ses_...``."""
    ticket_id: str
    """The ticket it belongs to."""
    kind: SessionKind
    """What it is for."""
    created_by: str
    """Identity that created it."""
    max_participants: int = 50
    """Visible participants allowed at once."""
    reconnect_grace: timedelta = timedelta(seconds=30)
    """How long a dropped participant keeps its place."""
    recording_policy: RecordingPolicy = RecordingPolicy.OFF
    """What may be recorded."""
    state: SessionState = SessionState.CREATED
    """Lifecycle state."""
    locked: bool = False
    """Nobody new may join (moderators still can)."""
    spotlight: str | None = None
    """Participant shown large to everyone."""
    participants: dict[str, Participant] = field(default_factory=dict)
    """Everyone who ever joined, by participant id."""

    # -- lifecycle -------------------------------------------------------------------------

    def _set_state(self, new: SessionState) -> list[SessionEvent]:
        if new is self.state:
            return []
        if new not in SESSION_TRANSITIONS[self.state]:
            raise InvalidTransitionError("session", self.state.value, new.value)
        old, self.state = self.state, new
        log.info("session %s: %s -> %s", self.id, old.value, new.value)
        return [SessionStateChanged(self.id, old.value, new.value)]

    def _settle(self) -> list[SessionEvent]:
        """Derive WAITING/ACTIVE from who is present (hidden monitors do not count)."""
        if self.state not in {SessionState.WAITING, SessionState.ACTIVE, SessionState.CREATED}:
            return []
        count = len(self.visible_participants())
        if count >= 2:
            return self._set_state(SessionState.ACTIVE)
        if count >= 1 or self.state is SessionState.ACTIVE:
            return self._set_state(SessionState.WAITING)
        return []

    def end(self) -> list[SessionEvent]:
        """Start ending: everyone is told, then ``close()`` finishes."""
        if self.state in {SessionState.ENDING, SessionState.CLOSED}:
            return []
        return self._set_state(SessionState.ENDING)

    def close(self) -> list[SessionEvent]:
        """Finish: everyone still present leaves with reason ``session_ended``. Idempotent."""
        if self.state is SessionState.CLOSED:
            return []
        events = self.end()
        for participant in list(self.present_participants()):
            events += self._remove(participant, "session_ended")
        return events + self._set_state(SessionState.CLOSED)

    # -- membership ------------------------------------------------------------------------

    def visible_participants(self) -> list[Participant]:
        """Present participants others can see."""
        return [p for p in self.participants.values() if p.present and not p.hidden]

    def present_participants(self) -> list[Participant]:
        """Everyone present, hidden monitors included."""
        return [p for p in self.participants.values() if p.present]

    def participant(self, participant_id: str) -> Participant:
        """A present participant, or NotFoundError."""
        found = self.participants.get(participant_id)
        if found is None or not found.present:
            raise NotFoundError(f"no participant {participant_id} in session {self.id}")
        return found

    def find_by_identity(self, identity: str) -> Participant | None:
        """The present participant with this identity, if any."""
        for participant in self.participants.values():
            if participant.identity == identity and participant.present:
                return participant
        return None

    def join(
        self,
        identity: str,
        name: str,
        role: Role,
        grants: Grants,
        now: datetime,
        language: str = "en",
    ) -> tuple[Participant, list[SessionEvent]]:
        """Enter the session, or take back one's place after a dropped link."""
        if self.state not in JOINABLE:
            raise InvalidStateError(f"cannot join session in state {self.state.value.upper()}")
        if not grants.allows_room(self.id):
            raise PermissionDeniedError(f"token grants do not cover session {self.id}")
        existing = self.find_by_identity(identity)
        if existing is not None:
            return existing, self._rejoin(existing, now)
        if self.locked and not grants.can_moderate:
            raise PermissionDeniedError(f"session {self.id} is locked")
        if not grants.hidden and len(self.visible_participants()) >= self.max_participants:
            raise LimitExceededError(
                f"session {self.id} is full ({self.max_participants} participants)"
            )
        participant = Participant(
            new_id("par"), identity, name, role, grants, now, language=language
        )
        self.participants[participant.id] = participant
        joined = ParticipantJoined(self.id, participant.id, identity, reconnected=False)
        return participant, [joined, *self._settle()]

    def _rejoin(self, participant: Participant, now: datetime) -> list[SessionEvent]:
        participant.state = ParticipantState.CONNECTED
        participant.disconnected_at = None
        return [ParticipantJoined(self.id, participant.id, participant.identity, True)]

    def disconnect(self, participant_id: str, now: datetime) -> list[SessionEvent]:
        """The participant's link dropped: keep its place for the grace period."""
        participant = self.participant(participant_id)
        if participant.state is ParticipantState.DISCONNECTED:
            return []
        participant.state = ParticipantState.DISCONNECTED
        participant.disconnected_at = now
        return [ParticipantDisconnected(self.id, participant.id)]

    def expire(self, now: datetime) -> list[SessionEvent]:
        """Remove participants whose grace period is over."""
        events: list[SessionEvent] = []
        for participant in self.present_participants():
            since = participant.disconnected_at
            if since is not None and now - since >= self.reconnect_grace:
                events += self._remove(participant, "timeout")
        return events + self._settle()

    def next_expiry(self) -> datetime | None:
        """When the next grace period ends, if any participant is disconnected."""
        times = [p.disconnected_at for p in self.present_participants() if p.disconnected_at]
        return min(times) + self.reconnect_grace if times else None

    def leave(self, participant_id: str) -> list[SessionEvent]:
        """The participant left on purpose."""
        participant = self.participant(participant_id)
        return self._remove(participant, "left") + self._settle()

    def _remove(self, participant: Participant, reason: str) -> list[SessionEvent]:
        participant.state = ParticipantState.LEFT
        participant.disconnected_at = None
        if self.spotlight == participant.id:
            self.spotlight = None
        return [ParticipantLeft(self.id, participant.id, participant.identity, reason)]

    # -- moderation ------------------------------------------------------------------------

    def _moderator(self, actor_id: str) -> Participant:
        actor = self.participant(actor_id)
        if not actor.grants.can_moderate:
            raise PermissionDeniedError(f"{actor.identity!r} may not moderate this session")
        return actor

    def remove(self, actor_id: str, target_id: str) -> list[SessionEvent]:
        """A moderator removes a participant."""
        self._moderator(actor_id)
        target = self.participant(target_id)
        return self._remove(target, "removed") + self._settle()

    def set_muted(
        self, actor_id: str, target_id: str, media: str, muted: bool
    ) -> list[SessionEvent]:
        """Mute or unmute audio or video: one's own, or anyone's as a moderator."""
        if media not in {"audio", "video"}:
            raise InvalidStateError(f"cannot mute {media!r}; use audio or video")
        actor = self.participant(actor_id)
        if actor_id != target_id:
            self._moderator(actor_id)
        target = self.participant(target_id)
        attribute = f"{media}_muted"
        if getattr(target, attribute) == muted:
            return []
        setattr(target, attribute, muted)
        return [ParticipantUpdated(self.id, target.id, attribute, muted, actor.identity)]

    def set_locked(self, actor_id: str, locked: bool) -> list[SessionEvent]:
        """A moderator locks or unlocks the session."""
        actor = self._moderator(actor_id)
        if self.locked == locked:
            return []
        self.locked = locked
        return [SessionSettingChanged(self.id, "locked", locked, actor.identity)]

    def set_spotlight(self, actor_id: str, target_id: str | None) -> list[SessionEvent]:
        """A moderator shows one participant large to everyone (None clears it)."""
        actor = self._moderator(actor_id)
        if target_id is not None:
            self.participant(target_id)
        if self.spotlight == target_id:
            return []
        self.spotlight = target_id
        return [SessionSettingChanged(self.id, "spotlight", target_id, actor.identity)]

    def raise_hand(self, participant_id: str, raised: bool) -> list[SessionEvent]:
        """A trainee raises or lowers a hand."""
        participant = self.participant(participant_id)
        if participant.hand_raised == raised:
            return []
        participant.hand_raised = raised
        return [
            ParticipantUpdated(self.id, participant.id, "hand_raised", raised, participant.identity)
        ]
