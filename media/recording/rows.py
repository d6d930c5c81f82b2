"""The store row of a recording, from its manifest (what signaling inserts and updates)."""

from __future__ import annotations

from typing import Any

from media.recording.manifest import Manifest
from sessions.store.recordings_tables import RecordingRow


def row_fields(manifest: Manifest, directory: str, size_bytes: int = 0) -> dict[str, Any]:
    """Return the ``recordings`` columns for ``manifest`` (``directory`` relative to the root)."""
    return {
        "id": manifest.recording_id,
        "ticket_id": manifest.ticket_id,
        "session_id": manifest.session_id,
        "ticket_kind": manifest.ticket_kind,
        "policy": manifest.policy.value,
        "state": manifest.state.value,
        "reason": manifest.reason,
        "started_at": manifest.started_at,
        "ended_at": manifest.ended_at,
        "directory": directory,
        "encrypted": any(t.encrypted for t in manifest.tracks),
        "size_bytes": size_bytes,
        # A summary for listing on the ticket; the manifest stays the full record.
        "tracks": {
            "items": [
                {
                    "track_id": t.track_id,
                    "participant_id": t.participant_id,
                    "kind": t.kind,
                    "start_media_s": t.start_media_s,
                    "duration_s": t.duration_s,
                }
                for t in manifest.tracks
            ]
        },
    }


def new_row(manifest: Manifest, directory: str, size_bytes: int = 0) -> RecordingRow:
    """Return a new ``recordings`` row for ``manifest``."""
    return RecordingRow(**row_fields(manifest, directory, size_bytes))
