"""Who sends an annotation command, and what their grants allow."""

from __future__ import annotations

from dataclasses import dataclass

#: Roles that may use the laser pointer without ``can_annotate``: the people on site
#: show the expert what they mean.
POINTER_ROLES = frozenset({"technician", "patient"})

#: Roles that get ``can_annotate`` by default when the token does not say otherwise.
ANNOTATE_ROLES = frozenset({"expert", "trainer"})


@dataclass(frozen=True, slots=True)
class Actor:
    """A participant as the annotation log sees them (built from the JWT grants)."""

    participant_id: str
    """The participant's id in the session."""
    identity: str
    """Who they are (the token's subject)."""
    role: str
    """patient, technician, expert, trainer, supervisor or admin."""
    can_annotate: bool = False
    """May draw marks, freeze and pin."""
    can_moderate: bool = False
    """May remove other people's marks and clear everyone's."""

    @property
    def can_point(self) -> bool:
        """Tell whether the actor may use the laser pointer."""
        return self.can_annotate or self.role in POINTER_ROLES


def default_can_annotate(role: str) -> bool:
    """Tell whether ``role`` gets ``can_annotate`` when the token does not set it."""
    return role in ANNOTATE_ROLES
