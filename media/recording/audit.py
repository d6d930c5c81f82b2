"""Audit records of recording access and removal, for the lead's audit log (audit_log table)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One access or removal: who did what to which recording, when."""

    at: datetime
    """When."""
    actor: str
    """Who (``system`` for the purge job)."""
    action: str
    """``recording_viewed``, ``recording_downloaded``, ``recording_exported``,
    ``recording_link_issued``, ``recording_access_denied``, ``recording_purged`` or
    ``recording_deleted``."""
    recording_id: str
    """Which recording."""
    ticket_id: str
    """Its ticket."""
    data: dict[str, Any] = field(default_factory=dict)
    """Details: file, byte range, reason, files removed, bytes freed."""

    @property
    def object_type(self) -> str:
        """The audit log's object type for recordings."""
        return "recording"
