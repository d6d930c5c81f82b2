"""Serving recording files: naming, running recordings, ranges, encrypted files."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from media.recording.crypto import encrypt_file
from media.recording.errors import RangeNotSatisfiableError, RecordingInProgressError
from media.recording.manifest import Manifest, TrackEntry, write_manifest
from media.recording.policy import RecordingPolicy
from media.recording.ranges import parse_range
from media.recording.serving import read_file, resolve_file
from media.recording.state import RecordingState
from sessions.exceptions import NotFoundError

KEY = bytes(range(32))
DATA = os.urandom(200_000)


def _recording(tmp_path: Path, state: RecordingState, encrypted: bool = False) -> Path:
    directory = tmp_path / "rec_s"
    directory.mkdir()
    (directory / "trk_v.webm").write_bytes(DATA)
    name = "trk_v.webm"
    if encrypted:
        encrypt_file(directory / name, directory / f"{name}.enc", KEY)
        (directory / name).unlink()
        name += ".enc"
    track = TrackEntry(
        track_id="trk_v",
        producer_id="prd_1",
        participant_id="alice",
        kind="video",
        codec="video/VP8",
        file=name,
        encrypted=encrypted,
    )
    manifest = Manifest(
        recording_id="rec_s",
        session_id="ses_s",
        ticket_id="tkt_s",
        ticket_kind="device_fault",
        policy=RecordingPolicy.FULL,
        state=state,
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        tracks=[track],
    )
    write_manifest(directory, manifest)
    (tmp_path / "secret.txt").write_text("not yours")
    return directory


@pytest.mark.parametrize("encrypted", [False, True])
def test_ranges_read_the_same_bytes(tmp_path: Path, encrypted: bool) -> None:
    directory = _recording(tmp_path, RecordingState.COMPLETE, encrypted)
    name = "trk_v.webm.enc" if encrypted else "trk_v.webm"
    served = resolve_file(directory, name, KEY)
    assert (served.size, served.content_type, served.name) == (
        len(DATA),
        "video/webm",
        "trk_v.webm",
    )
    assert b"".join(read_file(served, key=KEY)) == DATA
    byte_range = parse_range("bytes=65530-131080", served.size)
    assert b"".join(read_file(served, byte_range, KEY)) == DATA[65530:131081]
    with pytest.raises(RangeNotSatisfiableError):
        parse_range(f"bytes={served.size}-", served.size)


def test_recording_still_being_written_is_refused(tmp_path: Path) -> None:
    directory = _recording(tmp_path, RecordingState.RECORDING)
    with pytest.raises(RecordingInProgressError):
        resolve_file(directory, "trk_v.webm")


@pytest.mark.parametrize("name", ["../secret.txt", "timeline.jsonl", "nope.webm", "/etc/passwd"])
def test_only_listed_files_can_be_named(tmp_path: Path, name: str) -> None:
    directory = _recording(tmp_path, RecordingState.COMPLETE)
    with pytest.raises(NotFoundError):
        resolve_file(directory, name)


def test_manifest_is_served(tmp_path: Path) -> None:
    directory = _recording(tmp_path, RecordingState.INTERRUPTED)
    served = resolve_file(directory, "manifest.json")
    assert served.content_type == "application/json"
    assert b'"rec_s"' in b"".join(read_file(served))


def test_encrypted_file_without_a_key_is_not_served(tmp_path: Path) -> None:
    directory = _recording(tmp_path, RecordingState.COMPLETE, encrypted=True)
    with pytest.raises(NotFoundError):
        resolve_file(directory, "trk_v.webm.enc")
