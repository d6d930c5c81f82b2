"""The live-session state machine, without a network: lifecycle, membership, grace, moderation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sessions.events import (
    ParticipantDisconnected,
    ParticipantJoined,
    ParticipantLeft,
    SessionStateChanged,
)
from sessions.exceptions import (
    InvalidStateError,
    InvalidTransitionError,
    LimitExceededError,
    PermissionDeniedError,
)
from sessions.grants import Role, default_grants
from sessions.session import SESSION_TRANSITIONS, Session, SessionKind, SessionState

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PATIENT = default_grants(Role.PATIENT)
EXPERT = default_grants(Role.EXPERT)


def _session(**kwargs: Any) -> Session:
    return Session(
        id="ses_1",
        ticket_id="tkt_1",
        kind=SessionKind.REMOTE_DIAGNOSIS,
        created_by="expert-1",
        **kwargs,
    )


def _states(events: Sequence[object]) -> list[str]:
    return [e.new for e in events if isinstance(e, SessionStateChanged)]


def test_every_state_has_a_row_in_the_table() -> None:
    assert set(SESSION_TRANSITIONS) == set(SessionState)
    assert SESSION_TRANSITIONS[SessionState.CLOSED] == frozenset()


@pytest.mark.parametrize("source", list(SessionState))
@pytest.mark.parametrize("target", list(SessionState))
def test_transitions_outside_the_table_raise_naming_the_state(
    source: SessionState, target: SessionState
) -> None:
    session = _session(state=source)
    if target is source:
        assert session._set_state(target) == []
    elif target in SESSION_TRANSITIONS[source]:
        assert _states(session._set_state(target)) == [target.value]
    else:
        with pytest.raises(InvalidTransitionError, match=source.value):
            session._set_state(target)


def test_waiting_then_active_then_waiting_then_ended() -> None:
    session = _session()
    _, events = session.join("expert-1", "Dr X", Role.EXPERT, EXPERT, T0)
    assert _states(events) == ["waiting"]
    patient, events = session.join("patient-1", "Anna", Role.PATIENT, PATIENT, T0)
    assert _states(events) == ["active"]
    assert _states(session.leave(patient.id)) == ["waiting"]
    assert _states(session.close()) == ["ending", "closed"]
    with pytest.raises(InvalidStateError, match="CLOSED"):
        session.join("patient-2", "B", Role.PATIENT, PATIENT, T0)


def test_a_dropped_participant_keeps_its_place_within_the_grace_period() -> None:
    session = _session(reconnect_grace=timedelta(seconds=30))
    session.join("expert-1", "Dr X", Role.EXPERT, EXPERT, T0)
    patient, _ = session.join("patient-1", "Anna", Role.PATIENT, PATIENT, T0)
    assert isinstance(session.disconnect(patient.id, T0)[0], ParticipantDisconnected)
    assert session.next_expiry() == T0 + timedelta(seconds=30)
    assert session.expire(T0 + timedelta(seconds=29)) == []
    again, events = session.join(
        "patient-1", "Anna", Role.PATIENT, PATIENT, T0 + timedelta(seconds=29)
    )
    assert again.id == patient.id
    assert events == [ParticipantJoined("ses_1", patient.id, "patient-1", reconnected=True)]
    assert session.state is SessionState.ACTIVE


def test_the_grace_period_ends_in_a_timeout_leave() -> None:
    session = _session(reconnect_grace=timedelta(seconds=30))
    session.join("expert-1", "Dr X", Role.EXPERT, EXPERT, T0)
    patient, _ = session.join("patient-1", "Anna", Role.PATIENT, PATIENT, T0)
    session.disconnect(patient.id, T0)
    events = session.expire(T0 + timedelta(seconds=30))
    left = [e for e in events if isinstance(e, ParticipantLeft)]
    assert [(e.participant_id, e.reason) for e in left] == [(patient.id, "timeout")]
    assert _states(events) == ["waiting"]
    fresh, _ = session.join("patient-1", "Anna", Role.PATIENT, PATIENT, T0 + timedelta(hours=1))
    assert fresh.id != patient.id


def test_full_locked_and_foreign_room_joins_are_refused() -> None:
    session = _session(max_participants=2)
    session.join("expert-1", "Dr X", Role.EXPERT, EXPERT, T0)
    session.join("patient-1", "Anna", Role.PATIENT, PATIENT, T0)
    with pytest.raises(LimitExceededError, match="full"):
        session.join("patient-2", "B", Role.PATIENT, PATIENT, T0)
    hidden = replace(default_grants(Role.SUPERVISOR), hidden=True)
    monitor, _ = session.join("sup-1", "Ivy", Role.SUPERVISOR, hidden, T0)
    assert monitor not in session.visible_participants()
    roomy = _session()
    roomy.join("expert-1", "Dr X", Role.EXPERT, EXPERT, T0)
    roomy.set_locked(roomy.find_by_identity("expert-1").id, True)  # type: ignore[union-attr]
    with pytest.raises(PermissionDeniedError, match="locked"):
        roomy.join("patient-9", "Z", Role.PATIENT, PATIENT, T0)
    with pytest.raises(PermissionDeniedError, match="grants"):
        roomy.join("patient-1", "Anna", Role.PATIENT, replace(PATIENT, room="ses_other"), T0)


def test_moderation_needs_the_grant() -> None:
    session = _session()
    expert, _ = session.join("expert-1", "Dr X", Role.EXPERT, EXPERT, T0)
    patient, _ = session.join("patient-1", "Anna", Role.PATIENT, PATIENT, T0)
    with pytest.raises(PermissionDeniedError):
        session.set_muted(patient.id, expert.id, "audio", True)
    assert session.set_muted(patient.id, patient.id, "audio", True)  # own mic: fine
    assert session.set_muted(patient.id, patient.id, "audio", True) == []  # no change
    assert session.set_spotlight(expert.id, patient.id)
    assert session.spotlight == patient.id
    events = session.remove(expert.id, patient.id)
    assert session.spotlight is None
    assert [e.reason for e in events if isinstance(e, ParticipantLeft)] == ["removed"]
