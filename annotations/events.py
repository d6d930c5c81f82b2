"""What the annotation log emits and keeps: events, stored marks, anchors, freezes, state."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from annotations.messages import Box, Shape


class EventType(StrEnum):
    """Kinds of annotation events, as they appear on the wire and on the timeline."""

    MARK_ADDED = "mark_added"
    MARK_REMOVED = "mark_removed"
    MARKS_CLEARED = "marks_cleared"
    POINTER = "pointer"
    FROZEN = "frozen"
    UNFROZEN = "unfrozen"
    MARK_PINNED = "mark_pinned"
    MARK_UNPINNED = "mark_unpinned"
    ANCHOR_MOVED = "anchor_moved"


class AnnotationEvent(BaseModel):
    """One thing that happened to a session's annotations; JSON-serialisable for the timeline."""

    model_config = ConfigDict(frozen=True)

    type: EventType
    """What happened."""
    seq: int | None
    """Position in the session's annotation log; ``None`` for the ephemeral pointer."""
    at: datetime
    """Wall-clock time the server applied it (UTC)."""
    participant_id: str | None
    """Who caused it; ``None`` for the tracker's anchor updates."""
    identity: str | None
    """The causing participant's identity."""
    producer_id: str | None
    """The video it concerns, when it concerns one."""
    media_time_s: float | None
    """Media time of the frame it concerns, for placing it on the recording."""
    data: dict[str, Any] = Field(default_factory=dict)
    """Details of the event (the mark, the removed ids, the anchor's position, ...)."""

    def to_wire(self) -> dict[str, Any]:
        """Return the event as plain JSON types."""
        return self.model_dump(mode="json", by_alias=True)


class Mark(BaseModel):
    """A mark alive in the session."""

    model_config = ConfigDict(frozen=True)

    mark_id: str
    """``mrk_...``."""
    author: str
    """participant_id of who drew it."""
    identity: str
    """Identity of who drew it."""
    seq: int
    """Log sequence number of the event that added it."""
    shape: Annotated[Shape, Field(discriminator="kind")]
    """What was drawn, where, on which video and frame."""

    @property
    def producer_id(self) -> str:
        """The video the mark was drawn on."""
        return self.shape.producer_id


class Anchor(BaseModel):
    """Where an anchored mark is now, as the tracker last saw it."""

    model_config = ConfigDict(frozen=True)

    mark_id: str
    """The anchored mark."""
    producer_id: str
    """The video it is tracked in."""
    region: Box
    """The scene region followed, in the coordinates of the frame it was pinned on."""
    visible: bool = True
    """False while the tracker has lost the region."""
    homography: list[float] = Field(default_factory=lambda: [1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0])
    """Row-major 3x3 map from the mark's drawn coordinates to the current frame (normalised)."""
    points: list[tuple[float, float]] = Field(default_factory=list)
    """The mark's control points in the current frame; they may leave [0, 1]."""
    media_time_s: float | None = None
    """Media time of the frame of the last update."""


class FreezeState(BaseModel):
    """A frozen video."""

    model_config = ConfigDict(frozen=True)

    producer_id: str
    """The frozen producer."""
    media_time_s: float
    """Media time of the still."""
    by: str
    """participant_id of who froze it."""
    seq: int
    """Log sequence number of the freeze."""


class AnnotationState(BaseModel):
    """Everything a late joiner needs to draw what the others see."""

    model_config = ConfigDict(frozen=True)

    seq: int
    """The last sequence number included; later events follow it in order."""
    marks: list[Mark]
    """Marks alive, oldest first."""
    frozen: list[FreezeState]
    """Videos currently frozen."""
    anchors: list[Anchor]
    """Anchored marks and where they are now."""

    def to_wire(self) -> dict[str, Any]:
        """Return the state as plain JSON types."""
        return self.model_dump(mode="json", by_alias=True)
