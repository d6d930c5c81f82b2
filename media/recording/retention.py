"""Retention: how long recordings are kept per ticket kind, what is due, and deletion.

Selecting is pure (a list and ``now`` in, a list out); deleting touches the disk and is
blocking, so the purge job runs it in a thread. Every deletion returns an audit record
for the lead's audit log; the directory is gone, the record of its removal stays.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from media.recording.audit import AuditRecord
from media.recording.errors import RecordingInProgressError
from media.recording.manifest import MANIFEST_NAME, read_manifest
from media.recording.state import FINAL_STATES, RecordingState
from sessions.exceptions import ValidationError

DEFAULT_RETENTION_DAYS = 180


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Days to keep a recording, by ticket kind, with a default."""

    default_days: int = DEFAULT_RETENTION_DAYS
    """Days for kinds without their own entry."""
    days_by_kind: Mapping[str, int] = field(default_factory=dict)
    """Per ticket kind (``device_fault``, ``guided_exercise``, ...)."""

    def __post_init__(self) -> None:
        if self.default_days < 1 or any(d < 1 for d in self.days_by_kind.values()):
            raise ValidationError("retention must be at least one day")

    def keep_for(self, ticket_kind: str) -> timedelta:
        """Return how long recordings of this ticket kind are kept."""
        return timedelta(days=self.days_by_kind.get(ticket_kind, self.default_days))


@dataclass(frozen=True, slots=True)
class RecordingInfo:
    """What retention needs to know about one recording."""

    recording_id: str
    """``rec_...``."""
    ticket_id: str
    """Its ticket."""
    ticket_kind: str
    """Its ticket's kind."""
    state: RecordingState
    """Lifecycle state."""
    started_at: datetime
    """When it started."""
    ended_at: datetime | None
    """When it ended (None while running, or if a crash cut it short before recovery)."""
    directory: Path
    """Where its files are."""


def due_for_purge(
    recordings: Iterable[RecordingInfo], policy: RetentionPolicy, now: datetime
) -> list[RecordingInfo]:
    """Return the finished recordings whose retention period has run out at ``now``."""
    due = []
    for info in recordings:
        if info.state not in FINAL_STATES:
            continue  # never purge what is still being written
        ended = info.ended_at or info.started_at
        if now >= ended + policy.keep_for(info.ticket_kind):
            due.append(info)
    return due


def delete_recording(info: RecordingInfo, actor: str, now: datetime, reason: str) -> AuditRecord:
    """Remove a finished recording's files and return the audit record (blocking)."""
    if info.state not in FINAL_STATES:
        raise RecordingInProgressError(
            f"recording {info.recording_id} is {info.state.value}; stop it before deleting"
        )
    files = sorted(p for p in info.directory.rglob("*") if p.is_file())
    freed = sum(p.stat().st_size for p in files)
    shutil.rmtree(info.directory, ignore_errors=False)
    action = "recording_purged" if actor == "system" else "recording_deleted"
    return AuditRecord(
        at=now,
        actor=actor,
        action=action,
        recording_id=info.recording_id,
        ticket_id=info.ticket_id,
        data={"reason": reason, "files": [p.name for p in files], "bytes": freed},
    )


def purge(
    recordings: Iterable[RecordingInfo], policy: RetentionPolicy, now: datetime
) -> list[AuditRecord]:
    """Delete every recording due at ``now``; return one audit record each (blocking)."""
    return [
        delete_recording(info, "system", now, reason="retention")
        for info in due_for_purge(recordings, policy, now)
    ]


def scan_recordings(root: Path) -> list[RecordingInfo]:
    """List the recordings under ``root`` from their manifests (blocking)."""
    infos = []
    for manifest_path in sorted(root.glob(f"*/{MANIFEST_NAME}")):
        manifest = read_manifest(manifest_path.parent)
        infos.append(
            RecordingInfo(
                recording_id=manifest.recording_id,
                ticket_id=manifest.ticket_id,
                ticket_kind=manifest.ticket_kind,
                state=manifest.state,
                started_at=manifest.started_at,
                ended_at=manifest.ended_at,
                directory=manifest_path.parent,
            )
        )
    return infos
