"""Room features: capabilities attached to every live room (coaching, annotations, recording).

A feature sees the room's life through hooks that default to doing nothing; the Room calls
them and stays ignorant of what each feature does. A failing hook is logged and never takes
the session or its media down. Add a feature by listing its class in ``feature_classes``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from media.producer import Producer
    from sessions.session import Participant
    from signaling.room import Room


class RoomFeature:
    """Base class of room features."""

    name = "feature"
    """Key of the feature's part of the join snapshot."""

    def __init__(self, room: Room) -> None:
        self.room = room

    def snapshot(self) -> dict[str, Any] | None:
        """What a newcomer needs to know of this feature (None: nothing)."""
        return None

    async def participant_joined(self, participant: Participant, reconnected: bool) -> None:
        """Someone entered (or came back)."""

    async def participant_left(self, participant: Participant, reason: str) -> None:
        """Someone is gone for good."""

    def producer_added(self, participant: Participant, producer: Producer) -> None:
        """A participant started publishing a track."""

    def producer_removed(self, producer_id: str) -> None:
        """A track ended."""

    def chat(self, participant: Participant, message: dict[str, Any]) -> None:
        """A chat message was sent to the room."""

    async def closing(self) -> None:
        """The session is ending: finish and store what belongs on the ticket."""


def feature_classes() -> list[type[RoomFeature]]:
    """The features every room gets, in the order their hooks run."""
    from signaling.annotating import AnnotationFeature
    from signaling.coaching import CoachingFeature
    from signaling.recording_feature import RecordingFeature

    return [CoachingFeature, AnnotationFeature, RecordingFeature]
