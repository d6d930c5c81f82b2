"""Who sends an annotation command, and what their grants allow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class GrantsLike(Protocol):
    """The part of a token's grants (sessions.grants.Grants) that annotations look at."""

    @property
    def can_annotate(self) -> bool:
        """May draw."""
        ...

    @property
    def can_moderate(self) -> bool:
        """May remove other people's marks."""
        ...

    @property
    def hidden(self) -> bool:
        """Joined unseen."""
        ...


@dataclass(frozen=True, slots=True)
class Actor:
    """A participant as the annotation log sees them (built from the token's grants)."""

    participant_id: str
    """The participant's id in the session."""
    identity: str
    """Who they are (the token's subject); marks belong to it across reconnections."""
    role: str
    """patient, technician, expert, trainer, supervisor or admin."""
    can_annotate: bool = False
    """May draw marks, freeze and pin."""
    can_moderate: bool = False
    """May remove other people's marks and clear everyone's."""
    can_point: bool = True
    """May use the laser pointer: everyone who joined visibly, so people on site can show
    the expert what they mean without the drawing grant."""

    @classmethod
    def from_grants(
        cls, participant_id: str, identity: str, role: str, grants: GrantsLike
    ) -> Actor:
        """Build an actor from a participant's grants; hidden observers may not point."""
        return cls(
            participant_id=participant_id,
            identity=identity,
            role=str(role),
            can_annotate=grants.can_annotate,
            can_moderate=grants.can_moderate,
            can_point=not grants.hidden,
        )
