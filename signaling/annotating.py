"""Live annotations in a room: the ordered log, fan-out in sequence order, late-joiner state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from annotations.actor import Actor
from annotations.log import AnnotationLog
from signaling.features import RoomFeature

if TYPE_CHECKING:
    from sessions.session import Participant
    from signaling.room import Room


class AnnotationFeature(RoomFeature):
    """Draw, point, undo, clear, freeze and pin on participants' videos."""

    name = "annotations"

    def __init__(self, room: Room) -> None:
        super().__init__(room)
        self.log = AnnotationLog()

    def snapshot(self) -> dict[str, Any]:
        """Current marks, frozen videos and anchors, for a late joiner."""
        return self.log.state().to_wire()

    async def participant_left(self, participant: Participant, reason: str) -> None:
        """Forget the participant's rate-limit state."""
        self.log.forget(participant.id)

    def annotate(self, participant: Participant, payload: dict[str, Any]) -> dict[str, Any]:
        """Apply one command; fan its events out to everyone, oldest first."""
        actor = Actor.from_grants(
            participant.id, participant.identity, participant.role.value, participant.grants
        )
        events = self.log.apply(actor, payload, self.room.services.clock.now())
        for event in events:
            self.room.broadcast({"type": "annotation", "annotation": event.to_wire()})
        return {"seq": self.log.seq}
