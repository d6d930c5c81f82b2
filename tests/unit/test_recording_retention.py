"""Retention per ticket kind, the purge selection, and deletion with audit records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from media.recording.errors import RecordingInProgressError
from media.recording.manifest import Manifest, write_manifest
from media.recording.policy import RecordingPolicy
from media.recording.retention import (
    RecordingInfo,
    RetentionPolicy,
    delete_recording,
    due_for_purge,
    purge,
    scan_recordings,
)
from media.recording.state import RecordingState
from sessions.exceptions import ValidationError

NOW = datetime(2026, 9, 1, tzinfo=UTC)
POLICY = RetentionPolicy(days_by_kind={"guided_exercise": 30})


def _info(
    tmp_path: Path,
    rec_id: str,
    kind: str,
    age_days: float,
    state: RecordingState = RecordingState.COMPLETE,
) -> RecordingInfo:
    directory = tmp_path / rec_id
    directory.mkdir()
    (directory / "trk_1.webm").write_bytes(b"x" * 10)
    ended = NOW - timedelta(days=age_days)
    return RecordingInfo(
        rec_id, f"tkt_{rec_id}", kind, state, ended - timedelta(hours=1), ended, directory
    )


def test_default_is_180_days() -> None:
    assert RetentionPolicy().keep_for("device_fault") == timedelta(days=180)
    assert POLICY.keep_for("guided_exercise") == timedelta(days=30)


def test_selection_per_kind(tmp_path: Path) -> None:
    infos = [
        _info(tmp_path, "old_fault", "device_fault", 181),
        _info(tmp_path, "young_fault", "device_fault", 179),
        _info(tmp_path, "old_exercise", "guided_exercise", 31),
        _info(tmp_path, "exactly_due", "guided_exercise", 30),
        _info(tmp_path, "running", "device_fault", 400, RecordingState.RECORDING),
    ]
    due = [i.recording_id for i in due_for_purge(infos, POLICY, NOW)]
    assert due == ["old_fault", "old_exercise", "exactly_due"]


def test_purge_removes_files_and_returns_audit_records(tmp_path: Path) -> None:
    old = _info(tmp_path, "old", "device_fault", 200)
    young = _info(tmp_path, "young", "device_fault", 10)
    records = purge([old, young], POLICY, NOW)
    assert not old.directory.exists()
    assert young.directory.exists()
    assert [(r.recording_id, r.action, r.actor) for r in records] == [
        ("old", "recording_purged", "system")
    ]
    assert records[0].data == {"reason": "retention", "files": ["trk_1.webm"], "bytes": 10}


def test_deletion_on_request_is_audited_to_the_requester(tmp_path: Path) -> None:
    info = _info(tmp_path, "asked", "device_fault", 1)
    record = delete_recording(info, "patient-3", NOW, reason="patient request")
    assert not info.directory.exists()
    assert (record.action, record.actor, record.ticket_id) == (
        "recording_deleted",
        "patient-3",
        "tkt_asked",
    )


def test_recording_still_being_written_cannot_be_deleted(tmp_path: Path) -> None:
    info = _info(tmp_path, "live", "device_fault", 0, RecordingState.RECORDING)
    with pytest.raises(RecordingInProgressError):
        delete_recording(info, "admin", NOW, reason="request")
    assert info.directory.exists()


def test_retention_must_be_positive() -> None:
    with pytest.raises(ValidationError):
        RetentionPolicy(days_by_kind={"device_fault": 0})


def test_scan_reads_manifests(tmp_path: Path) -> None:
    directory = tmp_path / "rec_a"
    directory.mkdir()
    manifest = Manifest(
        recording_id="rec_a",
        session_id="ses_a",
        ticket_id="tkt_a",
        ticket_kind="onboarding",
        policy=RecordingPolicy.FULL,
        state=RecordingState.INTERRUPTED,
        started_at=NOW,
    )
    write_manifest(directory, manifest)
    [info] = scan_recordings(tmp_path)
    assert (info.recording_id, info.ticket_kind, info.state) == (
        "rec_a",
        "onboarding",
        RecordingState.INTERRUPTED,
    )
