"""The per-session annotation log: checks each command, applies it, emits numbered events.

Sans-I/O: ``apply()`` takes the actor, the command and ``now`` and returns the events to fan
out; it never touches a socket or a clock. Every check runs before anything changes, so a
refused command leaves the log exactly as it was.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import numpy as np

from annotations.actor import Actor
from annotations.events import (
    Anchor,
    AnnotationEvent,
    AnnotationState,
    EventType,
    FreezeState,
    Mark,
)
from annotations.geometry import FloatArray, apply_homography, bounding_box, control_points
from annotations.limits import Limits, RateLimiter, check_sizes
from annotations.messages import (
    SHAPE_TYPES,
    AnnotationCommand,
    Clear,
    Freeze,
    Pin,
    Pointer,
    Shape,
    Undo,
    Unfreeze,
    Unpin,
    parse_command,
)
from sessions.exceptions import (
    InvalidStateError,
    LimitExceededError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from sessions.ids import new_id

logger = logging.getLogger(__name__)

#: Margin added around a mark to make the scene region an anchor follows: the mark itself
#: (a thin line) covers too few features, the object around it has enough.
PIN_PADDING = 0.06
#: Smallest side of a region worth tracking, as a fraction of the video.
MIN_REGION = 0.03
#: Anchor moves smaller than this (normalised) are not worth an event: about 1 px at 720p.
MIN_ANCHOR_MOVE = 0.0015

Handler = Callable[["AnnotationLog", Actor, Any, datetime], list[AnnotationEvent]]


class AnnotationLog:
    """Ordered, seq-numbered annotation events of one session, and the state they build."""

    def __init__(self, limits: Limits | None = None, history: int = 10_000) -> None:
        self.limits = limits or Limits()
        self._rate = RateLimiter(self.limits)
        self._seq = 0
        self._marks: dict[str, Mark] = {}
        self._frozen: dict[str, FreezeState] = {}
        self._anchors: dict[str, Anchor] = {}
        self._history: deque[AnnotationEvent] = deque(maxlen=history)

    @property
    def seq(self) -> int:
        """The sequence number of the newest event (0 before the first)."""
        return self._seq

    def apply(
        self, actor: Actor, command: AnnotationCommand | Mapping[str, Any], now: datetime
    ) -> list[AnnotationEvent]:
        """Check and apply one command; return the events to fan out, oldest first."""
        # The token is spent before parsing, so that a flood of garbage is limited too.
        pointer = _kind_of(command) == "pointer"
        self._rate.check(actor.participant_id, pointer, now.timestamp())
        if isinstance(command, Mapping):
            command = parse_command(dict(command))
        elif not isinstance(command, SHAPE_TYPES + _CONTROL_TYPES):
            command = parse_command(command)  # refuses it with a clear message
        handler = _HANDLERS[type(command)]
        return handler(self, actor, command, now)

    def state(self) -> AnnotationState:
        """Return what a late joiner needs: live marks, frozen videos, anchors."""
        return AnnotationState(
            seq=self._seq,
            marks=list(self._marks.values()),
            frozen=list(self._frozen.values()),
            anchors=list(self._anchors.values()),
        )

    def marks_on(self, producer_id: str) -> list[Mark]:
        """Return the live marks drawn on one producer's video, oldest first."""
        return [m for m in self._marks.values() if m.producer_id == producer_id]

    def anchor(self, mark_id: str) -> Anchor | None:
        """Return the anchor of a pinned mark, or None."""
        return self._anchors.get(mark_id)

    def events_since(self, seq: int) -> list[AnnotationEvent] | None:
        """Return the stored events after ``seq``; None when they are no longer kept."""
        if seq >= self._seq:
            return []
        if not self._history or self._history[0].seq is None or self._history[0].seq > seq + 1:
            return None
        return [e for e in self._history if e.seq is not None and e.seq > seq]

    def forget(self, participant_id: str) -> None:
        """Drop what the log keeps about a participant who left (their rate buckets)."""
        self._rate.forget(participant_id)

    def update_anchor(
        self,
        mark_id: str,
        homography: FloatArray | None,
        media_time_s: float | None,
        now: datetime,
    ) -> list[AnnotationEvent]:
        """Record where the tracker sees an anchored mark (``None``: lost); emit on change."""
        anchor = self._anchors.get(mark_id)
        mark = self._marks.get(mark_id)
        if anchor is None or mark is None:
            return []  # unpinned or removed while the tracker was working: nothing to say
        moved = self._moved_anchor(anchor, mark, homography, media_time_s)
        if moved is None:
            return []
        self._anchors[mark_id] = moved
        data = moved.model_dump(mode="json", include={"mark_id", "visible", "homography", "points"})
        return [
            self._emit(EventType.ANCHOR_MOVED, None, now, moved.producer_id, media_time_s, data)
        ]

    def _moved_anchor(
        self, anchor: Anchor, mark: Mark, homography: FloatArray | None, media_time_s: float | None
    ) -> Anchor | None:
        """Return the anchor's new value, or None when the change is too small to tell."""
        if homography is None:
            if not anchor.visible:
                return None
            return anchor.model_copy(update={"visible": False, "media_time_s": media_time_s})
        points = apply_homography(homography, control_points(mark.shape))
        if anchor.visible and anchor.points:
            shift = float(np.abs(points - np.asarray(anchor.points)).max())
            if shift < MIN_ANCHOR_MOVE:
                return None
        return anchor.model_copy(
            update={
                "visible": True,
                "homography": [float(v) for v in homography.reshape(-1)],
                "points": [(float(x), float(y)) for x, y in points],
                "media_time_s": media_time_s,
            }
        )

    # -- command handlers: each checks everything first, then changes state -----------------

    def _add_mark(self, actor: Actor, shape: Shape, now: datetime) -> list[AnnotationEvent]:
        """Store a new mark."""
        _require(actor.can_annotate, f"{actor.role} {actor.identity} may not annotate")
        check_sizes(shape, self.limits)
        if len(self._marks) >= self.limits.max_marks:
            raise LimitExceededError(
                f"the session has {len(self._marks)} marks; clear some before drawing more"
            )
        mark = Mark(
            mark_id=new_id("mrk"),
            author=actor.participant_id,
            identity=actor.identity,
            seq=self._seq + 1,
            shape=shape,
        )
        self._marks[mark.mark_id] = mark
        data = {"mark": mark.model_dump(mode="json", by_alias=True)}
        return [self._emit_drawn(EventType.MARK_ADDED, actor, now, shape, data)]

    def _point(self, actor: Actor, pointer: Pointer, now: datetime) -> list[AnnotationEvent]:
        """Pass a pointer move through without storing it."""
        _require(actor.can_point, f"{actor.role} {actor.identity} may not use the pointer")
        position = None if pointer.position is None else list(pointer.position)
        data = {"position": position, "colour": pointer.colour}
        event = AnnotationEvent(
            type=EventType.POINTER,
            seq=None,
            at=now,
            participant_id=actor.participant_id,
            identity=actor.identity,
            producer_id=pointer.producer_id,
            media_time_s=pointer.media_time_s,
            data=data,
        )
        return [event]

    def _undo(self, actor: Actor, undo: Undo, now: datetime) -> list[AnnotationEvent]:
        """Remove the actor's newest mark, or a named one."""
        _require(
            actor.can_annotate or actor.can_moderate,
            f"{actor.role} {actor.identity} may not annotate",
        )
        mark = self._undo_target(actor, undo.mark_id)
        self._remove([mark.mark_id])
        data = {"mark_id": mark.mark_id, "author": mark.author}
        return [self._emit_drawn(EventType.MARK_REMOVED, actor, now, mark.shape, data)]

    def _undo_target(self, actor: Actor, mark_id: str | None) -> Mark:
        """Return the mark an undo removes, checking that the actor may remove it."""
        if mark_id is None:
            own = [m for m in self._marks.values() if m.identity == actor.identity]
            if not own:
                raise InvalidStateError("nothing to undo: you have no marks in this session")
            return max(own, key=lambda m: m.seq)
        mark = self._find(mark_id)
        _require(
            mark.identity == actor.identity or actor.can_moderate,
            f"mark {mark_id} was drawn by someone else; removing it needs can_moderate",
        )
        return mark

    def _clear(self, actor: Actor, clear: Clear, now: datetime) -> list[AnnotationEvent]:
        """Remove the actor's marks, or everyone's, on one video or all of them."""
        if clear.scope == "all":
            _require(actor.can_moderate, "clearing everyone's marks needs can_moderate")
        else:
            _require(
                actor.can_annotate or actor.can_moderate,
                f"{actor.role} {actor.identity} may not annotate",
            )
        ids = [
            m.mark_id
            for m in self._marks.values()
            if (clear.scope == "all" or m.identity == actor.identity)
            and (clear.producer_id is None or m.producer_id == clear.producer_id)
        ]
        if not ids:
            return []
        self._remove(ids)
        data = {"mark_ids": ids, "scope": clear.scope}
        return [self._emit(EventType.MARKS_CLEARED, actor, now, clear.producer_id, None, data)]

    def _freeze(self, actor: Actor, freeze: Freeze, now: datetime) -> list[AnnotationEvent]:
        """Freeze a video on one frame for everyone."""
        _require(actor.can_annotate, f"{actor.role} {actor.identity} may not freeze video")
        if freeze.producer_id in self._frozen:
            raise InvalidStateError(f"video {freeze.producer_id} is already frozen")
        self._frozen[freeze.producer_id] = FreezeState(
            producer_id=freeze.producer_id,
            media_time_s=freeze.media_time_s,
            by=actor.participant_id,
            seq=self._seq + 1,
        )
        return [
            self._emit(EventType.FROZEN, actor, now, freeze.producer_id, freeze.media_time_s, {})
        ]

    def _unfreeze(self, actor: Actor, unfreeze: Unfreeze, now: datetime) -> list[AnnotationEvent]:
        """Go back to live video."""
        _require(actor.can_annotate, f"{actor.role} {actor.identity} may not unfreeze video")
        state = self._frozen.get(unfreeze.producer_id)
        if state is None:
            raise InvalidStateError(f"video {unfreeze.producer_id} is not frozen")
        del self._frozen[unfreeze.producer_id]
        return [
            self._emit(EventType.UNFROZEN, actor, now, unfreeze.producer_id, state.media_time_s, {})
        ]

    def _pin(self, actor: Actor, pin: Pin, now: datetime) -> list[AnnotationEvent]:
        """Anchor a mark to the scene region under it."""
        mark = self._pinnable(actor, pin.mark_id)
        if pin.mark_id in self._anchors:
            raise InvalidStateError(f"mark {pin.mark_id} is already pinned")
        region = pin.region or bounding_box(control_points(mark.shape), PIN_PADDING)
        (left, top), (right, bottom) = region.corners()
        if right - left < MIN_REGION or bottom - top < MIN_REGION:
            raise ValidationError(
                f"the region to follow must be at least {MIN_REGION} of the video on each side"
            )
        anchor = Anchor(
            mark_id=mark.mark_id,
            producer_id=mark.producer_id,
            region=region,
            points=control_points(mark.shape),
            media_time_s=mark.shape.media_time_s,
        )
        self._anchors[mark.mark_id] = anchor
        data = {"mark_id": mark.mark_id, "region": region.model_dump(mode="json")}
        return [self._emit_drawn(EventType.MARK_PINNED, actor, now, mark.shape, data)]

    def _unpin(self, actor: Actor, unpin: Unpin, now: datetime) -> list[AnnotationEvent]:
        """Stop following the scene."""
        mark = self._pinnable(actor, unpin.mark_id)
        if unpin.mark_id not in self._anchors:
            raise InvalidStateError(f"mark {unpin.mark_id} is not pinned")
        del self._anchors[unpin.mark_id]
        data = {"mark_id": mark.mark_id}
        return [self._emit_drawn(EventType.MARK_UNPINNED, actor, now, mark.shape, data)]

    def _pinnable(self, actor: Actor, mark_id: str) -> Mark:
        """Return the mark to pin or unpin, checking that the actor may."""
        _require(actor.can_annotate, f"{actor.role} {actor.identity} may not pin marks")
        mark = self._find(mark_id)
        _require(
            mark.identity == actor.identity or actor.can_moderate,
            f"mark {mark_id} was drawn by someone else; pinning it needs can_moderate",
        )
        return mark

    # -- helpers ----------------------------------------------------------------------------

    def _find(self, mark_id: str) -> Mark:
        """Return a live mark or raise NotFoundError."""
        mark = self._marks.get(mark_id)
        if mark is None:
            raise NotFoundError(f"no mark {mark_id} in this session", mark_id=mark_id)
        return mark

    def _remove(self, mark_ids: list[str]) -> None:
        """Forget marks and their anchors."""
        for mark_id in mark_ids:
            del self._marks[mark_id]
            self._anchors.pop(mark_id, None)

    def _emit_drawn(
        self, type_: EventType, actor: Actor, now: datetime, shape: Shape, data: dict[str, Any]
    ) -> AnnotationEvent:
        """Emit an event about a mark, placed at the mark's video and media time."""
        return self._emit(type_, actor, now, shape.producer_id, shape.media_time_s, data)

    def _emit(
        self,
        type_: EventType,
        actor: Actor | None,
        now: datetime,
        producer_id: str | None,
        media_time_s: float | None,
        data: dict[str, Any],
    ) -> AnnotationEvent:
        """Number an event, keep it in the history and return it."""
        self._seq += 1
        event = AnnotationEvent(
            type=type_,
            seq=self._seq,
            at=now,
            participant_id=actor.participant_id if actor else None,
            identity=actor.identity if actor else None,
            producer_id=producer_id,
            media_time_s=media_time_s,
            data=data,
        )
        self._history.append(event)
        logger.debug("annotation event %d %s", self._seq, type_.value)
        return event


def _kind_of(command: AnnotationCommand | Mapping[str, Any]) -> Any:
    """The ``kind`` of a parsed command or of its JSON form (anything, if malformed)."""
    if isinstance(command, Mapping):
        return command.get("kind")
    return getattr(command, "kind", None)


def _require(allowed: bool, message: str) -> None:
    """Raise PermissionDeniedError with ``message`` unless ``allowed``."""
    if not allowed:
        raise PermissionDeniedError(message)


_CONTROL_TYPES = (Pointer, Undo, Clear, Freeze, Unfreeze, Pin, Unpin)

_HANDLERS: dict[type, Handler] = {
    **dict.fromkeys(SHAPE_TYPES, AnnotationLog._add_mark),
    Pointer: AnnotationLog._point,
    Undo: AnnotationLog._undo,
    Clear: AnnotationLog._clear,
    Freeze: AnnotationLog._freeze,
    Unfreeze: AnnotationLog._unfreeze,
    Pin: AnnotationLog._pin,
    Unpin: AnnotationLog._unpin,
}
