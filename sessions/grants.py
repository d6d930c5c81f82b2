"""Roles and grants: what a participant may do, as carried in its token (like LiveKit's grants)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """Who a user is to TeleGuide."""

    PATIENT = "patient"
    TECHNICIAN = "technician"
    EXPERT = "expert"
    TRAINER = "trainer"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


#: Roles that work the service desk (see and change every ticket).
STAFF_ROLES = frozenset({Role.EXPERT, Role.TRAINER, Role.SUPERVISOR, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class Grants:
    """What the bearer may do in sessions."""

    room: str | None = None
    """Session id the grants are limited to; None means any session the role may enter."""
    can_publish: bool = True
    """Send camera, microphone or screen."""
    can_subscribe: bool = True
    """Receive other participants' media."""
    can_annotate: bool = False
    """Draw on video (the pointer is allowed to everyone who can join)."""
    can_record: bool = False
    """Start and stop recordings."""
    can_moderate: bool = False
    """Mute, remove, lock, spotlight; undo others' marks."""
    hidden: bool = False
    """Join unseen and publishing nothing (supervisors monitoring quality)."""

    def allows_room(self, session_id: str) -> bool:
        """Tell whether these grants cover the given session."""
        return self.room is None or self.room == session_id


def default_grants(role: Role, room: str | None = None) -> Grants:
    """The grants a role gets when a token does not spell them out."""
    staff = role in {Role.EXPERT, Role.TRAINER, Role.ADMIN}
    return Grants(
        room=room,
        can_publish=role is not Role.SUPERVISOR,
        can_subscribe=True,
        can_annotate=staff,
        can_record=staff or role is Role.SUPERVISOR,
        can_moderate=staff or role is Role.SUPERVISOR,
        hidden=False,
    )
