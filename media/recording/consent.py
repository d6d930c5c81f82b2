"""Consent to media recording, as a pure state machine: answers in, permission changes out.

Rules (issue 7): media is recorded only after every participant present when recording was
requested has answered; a participant who joins later is asked, and only their own tracks
wait for their answer; a participant who declines (or withdraws) is never recorded, while
the others are. Nothing here does I/O; the Recording applies the events it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from media.recording.policy import RecordingPolicy
from sessions.exceptions import NotFoundError


class ConsentAnswer(StrEnum):
    """A participant's answer to the consent request."""

    PENDING = "pending"
    GRANTED = "granted"
    DECLINED = "declined"


class Indicator(StrEnum):
    """What a participant's recording indicator shows."""

    OFF = "off"
    """Nothing about this session is recorded."""
    METRICS_ONLY = "metrics_only"
    """Session data (landmarks, events, annotations, chat) is kept; no audio or video."""
    CONSENT_REQUESTED = "consent_requested"
    """This participant is asked for consent; nothing of theirs is recorded yet."""
    WAITING_FOR_OTHERS = "waiting_for_others"
    """This participant consented; media starts when everyone present has answered."""
    RECORDING = "recording"
    """This participant's audio and video are being recorded."""
    RECORDING_OTHERS = "recording_others"
    """Others are recorded; this participant declined and is not."""


@dataclass(frozen=True, slots=True)
class ConsentRequested:
    """Ask this participant for consent (send them the prompt)."""

    participant_id: str
    """Who to ask."""


@dataclass(frozen=True, slots=True)
class PermissionChanged:
    """This participant's tracks may now (or may no longer) be recorded."""

    participant_id: str
    """Whose tracks."""
    allowed: bool
    """True: start writing their tracks; False: stop writing them."""


ConsentEvent = ConsentRequested | PermissionChanged


class ConsentBook:
    """Who is present, what each answered, and whether media recording has begun."""

    def __init__(self, policy: RecordingPolicy) -> None:
        self.policy = policy
        self._answers: dict[str, ConsentAnswer] = {}
        self._gate_open = False

    @property
    def media_started(self) -> bool:
        """True once everyone present at the start has answered (media may then be written)."""
        return self._gate_open

    def answer_of(self, participant_id: str) -> ConsentAnswer:
        """Return the participant's current answer."""
        try:
            return self._answers[participant_id]
        except KeyError:
            raise NotFoundError(f"participant {participant_id} is not present") from None

    def may_record(self, participant_id: str) -> bool:
        """Tell whether this participant's tracks may be written right now."""
        return (
            self.policy.records_media
            and self._gate_open
            and self._answers.get(participant_id) is ConsentAnswer.GRANTED
        )

    def recorded_participants(self) -> frozenset[str]:
        """Return everyone whose tracks may be written right now."""
        return frozenset(pid for pid in self._answers if self.may_record(pid))

    def join(self, participant_id: str) -> list[ConsentEvent]:
        """A participant arrived; under the full policy they are asked (again, if rejoining)."""
        if not self.policy.records_media:
            self._answers[participant_id] = ConsentAnswer.DECLINED
            return []
        self._answers[participant_id] = ConsentAnswer.PENDING
        return [ConsentRequested(participant_id)]

    def leave(self, participant_id: str) -> list[ConsentEvent]:
        """A participant left: stop their tracks, and stop waiting for their answer."""
        was_recorded = self.may_record(participant_id)
        self._answers.pop(participant_id, None)
        events: list[ConsentEvent] = []
        if was_recorded:
            events.append(PermissionChanged(participant_id, allowed=False))
        return events + self._maybe_open_gate()

    def answer(self, participant_id: str, granted: bool) -> list[ConsentEvent]:
        """Record an answer; a later answer replaces an earlier one (consent can be withdrawn)."""
        self.answer_of(participant_id)  # raises for someone who is not present
        if not self.policy.records_media:
            return []
        before = self.may_record(participant_id)
        self._answers[participant_id] = ConsentAnswer.GRANTED if granted else ConsentAnswer.DECLINED
        if not self._gate_open:
            return self._maybe_open_gate()
        after = self.may_record(participant_id)
        return [] if before == after else [PermissionChanged(participant_id, allowed=after)]

    def indicator(self, participant_id: str) -> Indicator:
        """Return what this participant's recording indicator should show."""
        if self.policy is RecordingPolicy.OFF:
            return Indicator.OFF
        if self.policy is RecordingPolicy.METRICS_ONLY:
            return Indicator.METRICS_ONLY
        answer = self.answer_of(participant_id)
        if answer is ConsentAnswer.PENDING:
            return Indicator.CONSENT_REQUESTED
        if not self._gate_open:
            return Indicator.WAITING_FOR_OTHERS
        if answer is ConsentAnswer.GRANTED:
            return Indicator.RECORDING
        if self.recorded_participants():
            return Indicator.RECORDING_OTHERS
        return Indicator.METRICS_ONLY

    def _maybe_open_gate(self) -> list[ConsentEvent]:
        # The gate opens once, when nobody present is still pending; after that, a late
        # joiner's pending answer only holds back their own tracks.
        if self._gate_open or not self._answers:
            return []
        if any(a is ConsentAnswer.PENDING for a in self._answers.values()):
            return []
        self._gate_open = True
        return [
            PermissionChanged(pid, allowed=True) for pid in sorted(self.recorded_participants())
        ]
