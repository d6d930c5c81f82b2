"""Live annotations in a room: the ordered log, its fan-out, and the video side.

Commands are applied at once, in arrival order, and their events fanned out at once (the
pointer to everyone but its sender). What they cause on video runs behind, in the same
order, on a serial queue: the still taken at a freeze, rendered and attached to the ticket
at the unfreeze, pinned regions learnt and followed. A video is decoded only while it is
frozen or carries a pinned mark: the feature adds its frame observer at a freeze or a pin
(the producer then asks its publisher for a keyframe) and removes it once neither is left.
Every numbered event goes on the ticket's timeline, in sequence order; the pointer never.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from annotations.actor import Actor
from annotations.events import AnnotationEvent, EventType
from annotations.log import AnnotationLog
from annotations.video import AnnotationVideo, RenderedStill
from sessions.exceptions import NotFoundError, PermissionDeniedError
from signaling.annotation_attachments import AttachmentFiles
from signaling.annotation_queue import SerialQueue
from signaling.annotation_timeline import AnnotationTimeline
from signaling.features import RoomFeature

if TYPE_CHECKING:
    from media.producer import FrameObserver, Producer
    from sessions.session import Participant
    from signaling.room import Room

log = logging.getLogger(__name__)

#: Timeline action of a still attached to the ticket.
ATTACHMENT_ACTION = "attachment_added"
#: Events after which the video side needs the producer's frames.
_NEEDS_FRAMES = frozenset({EventType.FROZEN, EventType.MARK_PINNED})


class AnnotationFeature(RoomFeature):
    """Draw, point, undo, clear, freeze and pin on participants' videos."""

    name = "annotations"

    def __init__(self, room: Room) -> None:
        super().__init__(room)
        self.log = AnnotationLog()
        self.files = AttachmentFiles(room.services.settings.data_dir)
        self.video = AnnotationVideo(
            self.log, self._publish, room.services.clock, on_still=self._attach
        )
        self._videos: dict[str, Producer] = {}
        self._observers: dict[str, FrameObserver] = {}
        self._video_work = SerialQueue(f"annotations-video-{room.id}")
        self.timeline = AnnotationTimeline(room.timeline_many)

    def snapshot(self) -> dict[str, Any]:
        """Current marks, frozen videos and anchors, for a late joiner."""
        return self.log.state().to_wire()

    @property
    def decoding(self) -> list[str]:
        """Producers whose frames the feature is decoding now."""
        return list(self._observers)

    async def participant_left(self, participant: Participant, reason: str) -> None:
        """Forget the participant's rate-limit state."""
        self.log.forget(participant.id)

    def producer_added(self, participant: Participant, producer: Producer) -> None:
        """Remember a video that may be annotated (nothing is decoded for it yet)."""
        if producer.kind == "video":
            self._videos[producer.id] = producer

    def producer_removed(self, producer_id: str) -> None:
        """Stop decoding a video that ended; attach its still if it was frozen, drop the rest."""
        self._stop_decoding(producer_id)
        self._videos.pop(producer_id, None)
        self._video_work.submit(functools.partial(self._video_ended, producer_id))

    def annotate(self, participant: Participant, payload: dict[str, Any]) -> dict[str, Any]:
        """Apply one command; fan its events out, oldest first, and queue the video work."""
        if participant.grants.can_annotate:  # else the log refuses: no hint of which videos exist
            self._check_freeze_target(payload)
        events = self.log.apply(_actor(participant), payload, self.room.services.clock.now())
        self._publish(events, sender=participant.id)
        for event in events:
            if event.type in _NEEDS_FRAMES and event.producer_id:
                self._start_decoding(event.producer_id)
        if any(event.seq is not None for event in events):
            self._video_work.submit(functools.partial(self._after, events))
        return {"seq": self.log.seq}

    async def attach_still(self, participant: Participant, producer_id: str) -> dict[str, Any]:
        """Attach the annotated still of a frozen video to the ticket now; it stays frozen."""
        if not participant.grants.can_annotate:
            raise PermissionDeniedError(f"{participant.identity} may not attach stills")
        await self._video_work.drain()  # a freeze just sent has taken its still
        png = await self.video.still_png(producer_id)
        freeze = next((f for f in self.log.state().frozen if f.producer_id == producer_id), None)
        still = RenderedStill(
            producer_id,
            freeze.media_time_s if freeze else None,
            png,
            len(self.log.marks_on(producer_id)),
            participant.identity,
        )
        return await self._attach(still)

    async def idle(self) -> None:
        """Wait until the video work and timeline entries caused so far are done."""
        await self._video_work.drain()
        await self.timeline.drain()

    async def closing(self) -> None:
        """Attach the stills of videos still frozen, stop decoding, write the timeline out."""
        await self._video_work.drain()
        await self.video.release_stills()
        for producer_id in list(self._observers):
            self._stop_decoding(producer_id)
        await self.video.close()
        await self._video_work.close()
        await self.timeline.close()

    # -- fan-out and timeline ------------------------------------------------------------

    def _publish(self, events: list[AnnotationEvent], sender: str | None = None) -> None:
        """Send each event to the room and queue its timeline entry (numbered events only)."""
        for event in events:
            exclude = sender if event.type is EventType.POINTER else None
            self.room.broadcast({"type": "annotation", "annotation": event.to_wire()}, exclude)
            self.timeline.add_event(event)

    async def _attach(self, still: RenderedStill) -> dict[str, Any]:
        """Store a rendered still as a ticket attachment and tell the ticket and the room."""
        ticket_id = self.room.session.ticket_id
        saved = await self.files.save_png(ticket_id, still.png)
        data = {
            "attachment_id": saved.attachment_id,
            "media_type": saved.media_type,
            "size_bytes": saved.size_bytes,
            "producer_id": still.producer_id,
            "media_time_s": still.media_time_s,
            "marks": still.marks,
        }
        # After the annotation entries queued before it: the unfreeze comes first.
        self.timeline.add(still.identity or "system", ATTACHMENT_ACTION, data)
        await self.timeline.drain()
        attachment = {"ticket_id": ticket_id, "session_id": self.room.id, **data}
        self.room.broadcast({"type": "attachment_added", "attachment": attachment})
        log.info("still of %s attached to %s as %s", still.producer_id, ticket_id, saved)
        return attachment

    # -- decoding on demand --------------------------------------------------------------

    def _check_freeze_target(self, payload: dict[str, Any]) -> None:
        """A freeze must name a live video of this room: there is no still to take otherwise."""
        producer_id = payload.get("producer_id")
        wanted = payload.get("kind") == "freeze" and isinstance(producer_id, str)
        if wanted and producer_id not in self._videos:
            raise NotFoundError(f"no video {producer_id!r} in this session")

    async def _video_ended(self, producer_id: str) -> None:
        await self.video.release_still(producer_id)
        await self.video.producer_closed(producer_id)

    async def _after(self, events: list[AnnotationEvent]) -> None:
        """Let the video side act on the events, then stop decoding what nobody needs."""
        await self.video.on_events(events)
        if self._video_work.pending:
            return  # queued work may still need the frames
        for producer_id in list(self._observers):
            if not self.video.needs_frames(producer_id):
                self._stop_decoding(producer_id)

    def _start_decoding(self, producer_id: str) -> None:
        producer = self._videos.get(producer_id)
        if producer is None or producer.closed or producer_id in self._observers:
            return
        observer = functools.partial(self.video.observe, producer_id)
        self._observers[producer_id] = observer
        producer.add_frame_observer(observer)
        log.info("decoding %s for annotations", producer_id)

    def _stop_decoding(self, producer_id: str) -> None:
        observer = self._observers.pop(producer_id, None)
        producer = self._videos.get(producer_id)
        if observer is not None and producer is not None:
            producer.remove_frame_observer(observer)
            log.info("no longer decoding %s for annotations", producer_id)
        self.video.forget_frames(producer_id)


def _actor(participant: Participant) -> Actor:
    return Actor.from_grants(
        participant.id, participant.identity, participant.role.value, participant.grants
    )
