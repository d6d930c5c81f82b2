"""The authorization matrix on recordings, and the audit record of every attempt."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from media.recording.access import (
    RecordingAction,
    RecordingParties,
    Viewer,
    access_record,
    authorize,
)
from sessions.exceptions import NotFoundError, PermissionDeniedError

A = RecordingAction
PARTIES = RecordingParties("rec_1", "tkt_1", {"pat-1", "tech-1", "exp-1", "trainer-1"})
NOW = datetime(2026, 8, 1, tzinfo=UTC)
OK, DENIED, HIDDEN = "ok", "denied", "hidden"

# role, identity, grant, then the outcome for list, view, download, export, delete.
MATRIX = [
    ("supervisor", "sup-9", True, [OK, OK, OK, OK, OK]),
    ("admin", "adm-1", True, [OK, DENIED, DENIED, DENIED, OK]),
    ("expert", "exp-1", True, [OK, OK, OK, OK, DENIED]),
    ("trainer", "trainer-1", True, [OK, OK, OK, OK, DENIED]),
    ("patient", "pat-1", True, [OK, OK, OK, DENIED, DENIED]),
    ("technician", "tech-1", True, [OK, OK, OK, DENIED, DENIED]),
    ("patient", "pat-1", False, [OK, DENIED, DENIED, DENIED, DENIED]),
    ("expert", "exp-2", True, [HIDDEN] * 5),
    ("patient", "pat-2", True, [HIDDEN] * 5),
]
ACTIONS = [A.LIST, A.VIEW, A.DOWNLOAD, A.EXPORT, A.DELETE]
CASES = [
    (role, identity, grant, action, outcome)
    for role, identity, grant, outcomes in MATRIX
    for action, outcome in zip(ACTIONS, outcomes, strict=True)
]


@pytest.mark.parametrize(("role", "identity", "grant", "action", "outcome"), CASES)
def test_matrix(role: str, identity: str, grant: bool, action: A, outcome: str) -> None:
    viewer = Viewer(identity, role, can_subscribe=grant)
    if outcome == OK:
        authorize(viewer, PARTIES, action)
    elif outcome == DENIED:
        with pytest.raises(PermissionDeniedError):
            authorize(viewer, PARTIES, action)
    else:
        with pytest.raises(NotFoundError):
            authorize(viewer, PARTIES, action)


def test_party_identity_with_a_role_outside_the_parties_is_hidden() -> None:
    with pytest.raises(NotFoundError):
        authorize(Viewer("pat-1", "unknown-role"), PARTIES, A.VIEW)


def test_audit_record_of_an_allowed_download() -> None:
    viewer = Viewer("exp-1", "expert")
    record = access_record(
        viewer, PARTIES, A.DOWNLOAD, NOW, allowed=True, file="trk_1.webm", byte_range="0-99"
    )
    assert (record.actor, record.action, record.recording_id, record.ticket_id) == (
        "exp-1",
        "recording_downloaded",
        "rec_1",
        "tkt_1",
    )
    assert record.data == {
        "role": "expert",
        "action": "download",
        "file": "trk_1.webm",
        "range": "0-99",
    }
    assert record.object_type == "recording"


def test_audit_record_of_a_refusal() -> None:
    record = access_record(Viewer("x", "patient"), PARTIES, A.VIEW, NOW, allowed=False)
    assert record.action == "recording_access_denied"
    assert record.data["action"] == "view"
