"""Who may do what with a recording: the authorization matrix, pure, and its audit records.

Recordings are health data. Supervisors may do everything; the ticket's parties (requester,
patient, assignee, and whoever took part in the recorded session) may view and download
with a subscribe grant, and staff parties may export; admins may delete (retention, requests)
but not watch. Anyone else gets "not found", so recording ids cannot be probed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from media.recording.audit import AuditRecord
from sessions.exceptions import NotFoundError, PermissionDeniedError


class RecordingAction(StrEnum):
    """What a caller wants to do with a recording."""

    LIST = "list"
    VIEW = "view"
    DOWNLOAD = "download"
    EXPORT = "export"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Viewer:
    """The caller, as signaling's Principal describes them."""

    identity: str
    """Identity from the token."""
    role: str
    """patient, technician, expert, trainer, supervisor or admin."""
    can_subscribe: bool = True
    """The token's subscribe grant (watching media)."""


@dataclass(frozen=True, slots=True)
class RecordingParties:
    """Who a recording belongs to."""

    recording_id: str
    """The recording."""
    ticket_id: str
    """Its ticket."""
    identities: Collection[str]
    """Requester, patient, assignee and the session's participants."""


_STAFF_PARTY_ROLES = frozenset({"expert", "trainer"})
_PARTY_ROLES = frozenset({"patient", "technician", "expert", "trainer"})
_A = RecordingAction
_AUDIT_ACTIONS = {
    _A.LIST: "recording_listed",
    _A.VIEW: "recording_viewed",
    _A.DOWNLOAD: "recording_downloaded",
    _A.EXPORT: "recording_exported",
    _A.DELETE: "recording_deleted",
}


def authorize(viewer: Viewer, parties: RecordingParties, action: RecordingAction) -> None:
    """Raise NotFoundError or PermissionDeniedError unless ``viewer`` may do ``action``."""
    if viewer.role == "supervisor":
        return
    if viewer.role == "admin":
        if action in (_A.LIST, _A.DELETE):
            return
        raise PermissionDeniedError("admins manage recordings but may not watch them")
    if viewer.identity not in parties.identities or viewer.role not in _PARTY_ROLES:
        raise NotFoundError(f"no recording {parties.recording_id}")
    if action is _A.LIST:
        return
    if action in (_A.VIEW, _A.DOWNLOAD):
        if not viewer.can_subscribe:
            raise PermissionDeniedError(f"{viewer.identity!r} has no subscribe grant")
        return
    if action is _A.EXPORT and viewer.role in _STAFF_PARTY_ROLES:
        return
    raise PermissionDeniedError(f"{viewer.role} {viewer.identity!r} may not {action.value}")


def access_record(
    viewer: Viewer,
    parties: RecordingParties,
    action: RecordingAction,
    now: datetime,
    *,
    allowed: bool,
    file: str | None = None,
    byte_range: str | None = None,
) -> AuditRecord:
    """Return the audit record of one access attempt (allowed or not)."""
    verb = _AUDIT_ACTIONS[action] if allowed else "recording_access_denied"
    data: dict[str, object] = {"role": viewer.role, "action": action.value}
    if file is not None:
        data["file"] = file
    if byte_range is not None:
        data["range"] = byte_range
    return AuditRecord(now, viewer.identity, verb, parties.recording_id, parties.ticket_id, data)
