"""The recording manifest (JSON): tracks, their start times, and the session timeline.

Everything in the timeline carries ``media_s``: seconds since the recording started, the
same clock the track start times use, so a player puts an annotation over the video at
``media_s - track.start_media_s`` into that track's file.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from media.recording.policy import RecordingPolicy
from media.recording.state import RecordingState

MANIFEST_NAME = "manifest.json"
TIMELINE_NAME = "timeline.jsonl"


class TimelineKind(StrEnum):
    """What a timeline event is about."""

    JOIN = "join"
    LEAVE = "leave"
    CONSENT = "consent"
    ANNOTATION = "annotation"
    ANALYSIS = "analysis"
    LANDMARKS = "landmarks"
    CHAT = "chat"
    TRACK_STARTED = "track_started"
    TRACK_STOPPED = "track_stopped"
    RECORDING = "recording"


class TimelineEvent(BaseModel):
    """One thing that happened in the session, at its media time."""

    seq: int
    """Position in the timeline, from 1."""
    media_s: float
    """Seconds since the recording started."""
    at: datetime
    """Wall time (UTC)."""
    kind: TimelineKind
    """What it is about."""
    actor: str | None = None
    """Participant who caused it, if any."""
    data: dict[str, Any] = Field(default_factory=dict)
    """Details, as the producing subsystem sent them (JSON)."""


class TrackEntry(BaseModel):
    """One file of one producer's media (a new entry each time its recording restarts)."""

    track_id: str
    """``trk_...``."""
    producer_id: str
    """The producer it came from."""
    participant_id: str
    """Whose camera, screen or microphone."""
    kind: str
    """``video`` or ``audio``."""
    codec: str
    """MIME type, e.g. ``video/VP8``."""
    file: str
    """File name inside the recording directory."""
    start_media_s: float | None = None
    """Media time of the track's first frame; None until its first keyframe arrived."""
    start_wall: datetime | None = None
    """Wall time of the track's first frame."""
    duration_s: float = 0.0
    """Media written, in seconds."""
    packets: int = 0
    """Encoded frames written."""
    dropped: int = 0
    """Encoded frames dropped because the disk could not keep up."""
    failure: str | None = None
    """Why writing stopped early, if it did."""
    encrypted: bool = False
    """Whether ``file`` is AES-GCM encrypted (see crypto.py)."""


class Manifest(BaseModel):
    """Everything a player, an exporter or the retention job needs to know."""

    version: int = 1
    """Manifest format version."""
    recording_id: str
    """``rec_...``."""
    session_id: str
    """The session recorded."""
    ticket_id: str
    """The ticket the session belongs to."""
    ticket_kind: str
    """The ticket's kind (retention is per kind)."""
    policy: RecordingPolicy
    """off, metrics_only or full."""
    state: RecordingState
    """Lifecycle state when the manifest was written."""
    reason: str | None = None
    """Why it failed or was interrupted."""
    started_at: datetime
    """Wall time of media time 0."""
    ended_at: datetime | None = None
    """Wall time it stopped."""
    tracks: list[TrackEntry] = Field(default_factory=list)
    """Media files (empty under metrics_only)."""
    timeline: list[TimelineEvent] = Field(default_factory=list)
    """Session events in media-time order."""


def write_manifest(directory: Path, manifest: Manifest) -> None:
    """Write manifest.json atomically (blocking: call from a thread)."""
    path = directory / MANIFEST_NAME
    tmp = path.with_suffix(".json.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(manifest.model_dump_json(indent=2))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_manifest(directory: Path) -> Manifest:
    """Read manifest.json (blocking)."""
    return Manifest.model_validate_json((directory / MANIFEST_NAME).read_text(encoding="utf-8"))


def append_timeline(directory: Path, event: TimelineEvent) -> None:
    """Append one event to timeline.jsonl, the crash-safe copy of the timeline (blocking)."""
    with (directory / TIMELINE_NAME).open("a", encoding="utf-8") as handle:
        handle.write(event.model_dump_json() + "\n")


def read_timeline(directory: Path) -> list[TimelineEvent]:
    """Read timeline.jsonl, skipping a last line torn by a crash (blocking)."""
    path = directory / TIMELINE_NAME
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(TimelineEvent.model_validate(json.loads(line)))
        except ValueError:
            continue
    return events
