"""The lifecycle of one recording, as a transition table."""

from __future__ import annotations

from enum import StrEnum

from sessions.exceptions import InvalidTransitionError


class RecordingState(StrEnum):
    """Where a recording is in its life."""

    PENDING_CONSENT = "pending_consent"
    """Created; media waits until everyone present has answered the consent request."""
    RECORDING = "recording"
    """Writing the timeline and, under the full policy, the consenting participants' media."""
    STOPPING = "stopping"
    """Writers are draining their queues and finishing their files."""
    COMPLETE = "complete"
    """Closed normally; files and manifest are final."""
    FAILED = "failed"
    """Stopped by an error (for example a full disk); what was written up to then is kept."""
    INTERRUPTED = "interrupted"
    """The server stopped without closing it; recovered on restart."""


_S = RecordingState

TRANSITIONS: dict[RecordingState, frozenset[RecordingState]] = {
    _S.PENDING_CONSENT: frozenset({_S.RECORDING, _S.STOPPING, _S.FAILED, _S.INTERRUPTED}),
    _S.RECORDING: frozenset({_S.STOPPING, _S.FAILED, _S.INTERRUPTED}),
    _S.STOPPING: frozenset({_S.COMPLETE, _S.FAILED, _S.INTERRUPTED}),
    _S.COMPLETE: frozenset(),
    _S.FAILED: frozenset(),
    _S.INTERRUPTED: frozenset(),
}

#: States in which the files are final and may be served, exported or purged.
FINAL_STATES = frozenset({_S.COMPLETE, _S.FAILED, _S.INTERRUPTED})


def check_transition(current: RecordingState, target: RecordingState) -> None:
    """Raise InvalidTransitionError unless ``current -> target`` is in the table."""
    if target not in TRANSITIONS[current]:
        raise InvalidTransitionError("recording", current.value, target.value)
