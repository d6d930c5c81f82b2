"""Consent to recording, on the pure machine: who may be recorded, and when."""

from __future__ import annotations

import pytest

from media.recording.consent import (
    ConsentBook,
    ConsentRequested,
    Indicator,
    PermissionChanged,
)
from media.recording.policy import RecordingPolicy
from sessions.exceptions import NotFoundError


def _full(*present: str) -> ConsentBook:
    book = ConsentBook(RecordingPolicy.FULL)
    for pid in present:
        book.join(pid)
    return book


def test_everyone_present_is_asked() -> None:
    book = ConsentBook(RecordingPolicy.FULL)
    assert book.join("alice") == [ConsentRequested("alice")]
    assert book.indicator("alice") is Indicator.CONSENT_REQUESTED


def test_nobody_is_recorded_before_everyone_answered() -> None:
    book = _full("alice", "bob")
    assert book.answer("alice", granted=True) == []
    assert not book.media_started
    assert not book.may_record("alice")
    assert book.indicator("alice") is Indicator.WAITING_FOR_OTHERS


def test_last_answer_opens_recording_for_those_who_granted() -> None:
    book = _full("alice", "bob")
    book.answer("alice", granted=True)
    events = book.answer("bob", granted=True)
    assert events == [PermissionChanged("alice", True), PermissionChanged("bob", True)]
    assert book.recorded_participants() == {"alice", "bob"}


def test_decliner_is_not_recorded_while_others_are() -> None:
    book = _full("alice", "bob")
    book.answer("alice", granted=True)
    assert book.answer("bob", granted=False) == [PermissionChanged("alice", True)]
    assert book.may_record("alice")
    assert not book.may_record("bob")
    assert book.indicator("alice") is Indicator.RECORDING
    assert book.indicator("bob") is Indicator.RECORDING_OTHERS


def test_late_joiner_waits_for_their_own_answer_only() -> None:
    book = _full("alice")
    book.answer("alice", granted=True)
    assert book.join("carol") == [ConsentRequested("carol")]
    assert book.may_record("alice")
    assert not book.may_record("carol")
    assert book.answer("carol", granted=True) == [PermissionChanged("carol", True)]
    assert book.may_record("carol")


def test_late_decliner_never_recorded() -> None:
    book = _full("alice")
    book.answer("alice", granted=True)
    book.join("carol")
    assert book.answer("carol", granted=False) == []
    assert not book.may_record("carol")


def test_withdrawing_consent_stops_only_that_participant() -> None:
    book = _full("alice", "bob")
    book.answer("alice", granted=True)
    book.answer("bob", granted=True)
    assert book.answer("bob", granted=False) == [PermissionChanged("bob", False)]
    assert book.recorded_participants() == {"alice"}


def test_pending_participant_leaving_unblocks_the_others() -> None:
    book = _full("alice", "bob")
    book.answer("alice", granted=True)
    assert book.leave("bob") == [PermissionChanged("alice", True)]
    assert book.media_started


def test_recorded_participant_leaving_stops_their_tracks_and_rejoin_asks_again() -> None:
    book = _full("alice")
    book.answer("alice", granted=True)
    assert book.leave("alice") == [PermissionChanged("alice", False)]
    assert book.join("alice") == [ConsentRequested("alice")]
    assert not book.may_record("alice")


def test_everyone_declining_records_no_media() -> None:
    book = _full("alice", "bob")
    book.answer("alice", granted=False)
    assert book.answer("bob", granted=False) == []
    assert book.media_started
    assert book.recorded_participants() == frozenset()
    assert book.indicator("alice") is Indicator.METRICS_ONLY


@pytest.mark.parametrize(
    ("policy", "indicator"),
    [(RecordingPolicy.METRICS_ONLY, Indicator.METRICS_ONLY), (RecordingPolicy.OFF, Indicator.OFF)],
)
def test_policies_without_media_ask_nobody(policy: RecordingPolicy, indicator: Indicator) -> None:
    book = ConsentBook(policy)
    assert book.join("alice") == []
    assert book.answer("alice", granted=True) == []
    assert not book.may_record("alice")
    assert book.indicator("alice") is indicator


def test_answer_from_someone_absent_is_refused() -> None:
    with pytest.raises(NotFoundError):
        _full("alice").answer("mallory", granted=True)
