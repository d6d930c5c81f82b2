"""The video side of a session's annotations: recent frames, frozen stills, anchor trackers.

The connection layer feeds it the producers' decoded frames (``observe``, a frame
observer) and the events the annotation log returned (``on_events``). It then takes the
still when a video is frozen, renders it with its marks for the ticket, and runs one
tracker per producer while marks are pinned to it: the positions go into the log, and the
resulting ``anchor_moved`` events to ``publish``, which fans them out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from annotations.events import AnnotationEvent, EventType
from annotations.frames import FrameHistory
from annotations.log import AnnotationLog
from annotations.render import render_png_async
from annotations.tracking import (
    AsyncSceneTracker,
    SceneTracker,
    TrackerConfig,
    Updates,
    frame_media_time,
)
from sessions.clock import Clock, SystemClock
from sessions.exceptions import NotFoundError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RenderedStill:
    """A frozen frame rendered with its marks, ready to attach to the ticket."""

    producer_id: str
    """The video it was taken from."""
    media_time_s: float | None
    """Media time of the frame, for placing it on the recording's timeline."""
    png: bytes
    """The image, at the producer's full resolution."""
    marks: int
    """How many marks are drawn on it."""
    identity: str | None = None
    """Who unfroze the video (or None when the session ended with it frozen)."""


class AnnotationVideo:
    """Frames, stills and trackers of one session's producers."""

    def __init__(
        self,
        log: AnnotationLog,
        publish: Callable[[list[AnnotationEvent]], None],
        clock: Clock | None = None,
        history_size: int = 15,
        tracker_config: TrackerConfig | None = None,
        on_still: Callable[[RenderedStill], Awaitable[object]] | None = None,
        first_frame_timeout_s: float = 5.0,
    ) -> None:
        self._log = log
        self._on_still = on_still
        self._publish = publish
        self._clock = clock or SystemClock()
        self._history_size = history_size
        self._tracker_config = tracker_config
        self._histories: dict[str, FrameHistory] = {}
        self._stills: dict[str, Any] = {}
        self._trackers: dict[str, AsyncSceneTracker] = {}
        # Freezes and pins that came before the producer's first decoded frame.
        self._awaiting_still: set[str] = set()
        self._waiters: dict[str, list[asyncio.Future[Any]]] = {}
        self._first_frame_timeout_s = first_frame_timeout_s

    def observe(self, producer_id: str, frame: Any) -> None:
        """Take a decoded frame of a producer (cheap: keeps a reference, hands it on)."""
        history = self._histories.get(producer_id)
        if history is None:
            history = self._histories[producer_id] = FrameHistory(self._history_size)
        history(frame)
        if producer_id in self._awaiting_still:
            # Decoding started at the freeze: its first frame is a keyframe, the nearest one.
            self._awaiting_still.discard(producer_id)
            self._stills[producer_id] = frame
        for waiter in self._waiters.pop(producer_id, []):
            if not waiter.done():
                waiter.set_result(frame)
        tracker = self._trackers.get(producer_id)
        # A frozen video shows the still: its marks stay where they were drawn on it.
        if tracker is not None and producer_id not in self._stills:
            tracker.offer(frame)

    async def on_events(self, events: list[AnnotationEvent]) -> None:
        """Act on what the room just did: take or drop stills, start or stop tracking."""
        for event in events:
            if event.type is EventType.FROZEN:
                self._take_still(event)
            elif event.type is EventType.UNFROZEN and event.producer_id:
                await self._finish_still(event.producer_id, event.media_time_s, event.identity)
            elif event.type is EventType.MARK_PINNED:
                await self._pin(event.data["mark_id"])
            elif event.type in _STOP_TRACKING:
                self._unpin(event)

    def needs_frames(self, producer_id: str) -> bool:
        """Whether frames of the producer are wanted: frozen, awaited or pinned marks on it."""
        return (
            producer_id in self._stills
            or producer_id in self._awaiting_still
            or bool(self._waiters.get(producer_id))
            or bool(self.tracked_marks(producer_id))
        )

    def forget_frames(self, producer_id: str) -> None:
        """Drop the recent frames of a producer nobody decodes any more (its still stays)."""
        history = self._histories.pop(producer_id, None)
        if history is not None:
            history.clear()

    async def release_stills(self) -> None:
        """Hand every still still held to ``on_still`` (the session ends with videos frozen)."""
        for producer_id in list(self._stills):
            await self.release_still(producer_id)

    async def release_still(self, producer_id: str) -> None:
        """Hand a video's still, if one was taken, to ``on_still`` now (its video ended)."""
        self._awaiting_still.discard(producer_id)  # no frame will come any more
        await self._finish_still(producer_id, None, None)

    def tracked_marks(self, producer_id: str) -> list[str]:
        """The marks whose regions are being followed in a producer's video."""
        tracker = self._trackers.get(producer_id)
        return tracker.tracker.anchor_ids if tracker else []

    async def still_png(self, producer_id: str) -> bytes:
        """Render the frozen still of a producer with its marks, at full resolution."""
        if producer_id in self._awaiting_still:
            await self._next_frame(producer_id)  # frozen before its first decoded frame
        still = self._stills.get(producer_id)
        if still is None:
            raise NotFoundError(f"video {producer_id} is not frozen on a received frame")
        log = self._log
        # Tracking pauses while frozen, so anchored marks' last positions are on the still,
        # as every participant sees them.
        anchors = {a.mark_id: a for a in log.state().anchors}
        return await render_png_async(still, log.marks_on(producer_id), anchors)

    async def producer_closed(self, producer_id: str) -> None:
        """Forget a producer's frames, still and tracker."""
        self._histories.pop(producer_id, None)
        self._stills.pop(producer_id, None)
        self._awaiting_still.discard(producer_id)
        for waiter in self._waiters.pop(producer_id, []):
            waiter.cancel()
        tracker = self._trackers.pop(producer_id, None)
        if tracker is not None:
            await tracker.close()

    async def close(self) -> None:
        """Stop every tracker and drop every frame; idempotent."""
        for producer_id in list(self._histories | self._trackers | self._waiters):
            await self.producer_closed(producer_id)

    async def _finish_still(
        self, producer_id: str, media_time_s: float | None, identity: str | None
    ) -> None:
        """Hand the annotated still to ``on_still`` (the ticket attachment), then drop it."""
        if producer_id in self._awaiting_still:
            # Unfrozen before the first decoded frame came: it is still the still (observe).
            await self._next_frame(producer_id)
            self._awaiting_still.discard(producer_id)
        still = self._stills.get(producer_id)
        if still is not None and self._on_still is not None:
            png = await self.still_png(producer_id)
            marks = len(self._log.marks_on(producer_id))
            when = frame_media_time(still)
            when = media_time_s if when is None else when
            await self._on_still(RenderedStill(producer_id, when, png, marks, identity))
        self._stills.pop(producer_id, None)

    def _take_still(self, event: AnnotationEvent) -> None:
        """Keep the frame closest to the freeze's media time, or the next one to arrive."""
        producer_id = event.producer_id or ""
        history = self._histories.get(producer_id)
        frame = history.at(event.media_time_s or 0.0) if history else None
        if frame is None:
            logger.info("freeze of %s: the still is the next decoded frame", producer_id)
            self._awaiting_still.add(producer_id)
            return
        self._stills[producer_id] = frame

    async def _pin(self, mark_id: str) -> None:
        """Start tracking a pinned mark's region in its producer's video."""
        anchor = self._log.anchor(mark_id)
        if anchor is None:
            return
        frame = self._reference_frame(anchor.producer_id, anchor.media_time_s)
        if frame is None:
            frame = await self._next_frame(anchor.producer_id)
        if frame is None:
            logger.warning("pin of %s: no frame of %s to pin on", mark_id, anchor.producer_id)
            return
        tracker = self._tracker(anchor.producer_id)
        if not await tracker.pin(mark_id, frame, anchor.region):
            logger.warning("pin of %s: too little texture under the mark to follow", mark_id)
        elif self._log.anchor(mark_id) is None:
            tracker.unpin(mark_id)  # unpinned or removed while the region was being learnt

    async def _next_frame(self, producer_id: str) -> Any | None:
        """Wait for the producer's next decoded frame (decoding was just asked for)."""
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(producer_id, []).append(waiter)
        try:
            return await asyncio.wait_for(waiter, self._first_frame_timeout_s)
        except TimeoutError:
            return None
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if waiter.cancelled() and not (task and task.cancelling()):
                return None  # the producer closed while we waited
            raise
        finally:
            waiters = self._waiters.get(producer_id, [])
            if waiter in waiters:
                waiters.remove(waiter)
            if not waiters:
                self._waiters.pop(producer_id, None)

    def _reference_frame(self, producer_id: str, media_time_s: float | None) -> Any | None:
        """The frame a mark was drawn on: the still if frozen, else the closest recent one."""
        if producer_id in self._stills:
            return self._stills[producer_id]
        history = self._histories.get(producer_id)
        if history is None:
            return None
        return history.at(media_time_s) if media_time_s is not None else history.newest()

    def _tracker(self, producer_id: str) -> AsyncSceneTracker:
        """Return the producer's running tracker, starting one if needed."""
        tracker = self._trackers.get(producer_id)
        if tracker is None:
            tracker = AsyncSceneTracker(SceneTracker(self._tracker_config), self._moved)
            tracker.start()
            self._trackers[producer_id] = tracker
        return tracker

    def _moved(self, updates: Updates, media_time_s: float | None) -> None:
        """Record the tracker's positions in the log and publish what changed."""
        now = self._clock.now()
        events: list[AnnotationEvent] = []
        for mark_id, homography in updates.items():
            events += self._log.update_anchor(mark_id, homography, media_time_s, now)
        if events:
            self._publish(events)

    def _unpin(self, event: AnnotationEvent) -> None:
        """Stop tracking marks that were unpinned or removed."""
        ids = event.data.get("mark_ids") or [event.data.get("mark_id")]
        for tracker in self._trackers.values():
            for mark_id in ids:
                tracker.unpin(mark_id)


_STOP_TRACKING = frozenset(
    {EventType.MARK_UNPINNED, EventType.MARK_REMOVED, EventType.MARKS_CLEARED}
)
