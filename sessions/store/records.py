"""Small domain records the store hands out besides tickets: users, live sessions, audit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class User:
    """A person known to TeleGuide (identities come from the identity provider's tokens)."""

    identity: str
    """Stable identity, the JWT ``sub``."""
    display_name: str
    """Name shown to others."""
    role: str
    """patient, technician, expert, trainer, supervisor or admin."""
    language: str
    """BCP 47 tag of the language to serve them in."""
    email: str | None
    """Where notifications go, if anywhere."""
    created_at: datetime
    """First seen (UTC)."""


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """The stored trace of one live session (the live object is in the session manager)."""

    id: str
    """``ses_...``."""
    ticket_id: str
    """The ticket it belongs to."""
    kind: str
    """remote_diagnosis, guided_exercise or group_onboarding."""
    state: str
    """Last known lifecycle state, as the session manager names it."""
    created_at: datetime
    """When it was created (UTC)."""
    created_by: str
    """Identity that created it."""
    recording_policy: str
    """What may be recorded (e.g. ``off``, ``full``, ``skeleton_only``)."""
    started_at: datetime | None = None
    """When the first participant's media flowed."""
    ended_at: datetime | None = None
    """When it ended."""
    node: str | None = None
    """The node that hosts it (several-node deployments)."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One security-relevant access or change: who did what to which object."""

    id: int
    """Position in the audit log (increasing)."""
    at: datetime
    """When (UTC)."""
    actor: str
    """Identity that did it."""
    action: str
    """Stable verb, e.g. ``recording.viewed``."""
    object_type: str
    """What kind of object: ``ticket``, ``recording``, ``session``, ..."""
    object_id: str
    """Its id."""
    data: dict[str, Any] = field(default_factory=dict)
    """Details, JSON-serialisable."""
    request_id: str | None = None
    """The HTTP request id, to join with the logs."""
