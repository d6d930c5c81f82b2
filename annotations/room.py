"""One session's annotations as the connection layer sees them: log + fan-out + clock.

The connection layer (signaling's ``/ws``) calls ``join`` when a participant's socket is
ready, ``handle`` for each annotation command, and ``leave`` when it goes; it writes what
the participant's subscriber yields to the socket. Events are serialised to JSON once and
the same text is queued for every participant.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from annotations.actor import Actor
from annotations.events import AnnotationEvent, AnnotationState, EventType
from annotations.fanout import Fanout, Subscriber
from annotations.geometry import FloatArray
from annotations.log import AnnotationLog
from annotations.video import AnnotationVideo, RenderedStill
from sessions.clock import Clock, SystemClock

logger = logging.getLogger(__name__)

#: ``type`` of the server event that carries one annotation event.
EVENT_TYPE = "annotation"
#: ``type`` of the server event that carries the state, sent first to every joiner.
STATE_TYPE = "annotation_state"


class AnnotationRoom:
    """Applies participants' commands to the session's log and fans the events out."""

    def __init__(
        self,
        log: AnnotationLog | None = None,
        clock: Clock | None = None,
        queue_size: int = 256,
    ) -> None:
        self.log = log or AnnotationLog()
        self._clock = clock or SystemClock()
        self._fanout: Fanout[str] = Fanout(queue_size)

    def join(self, actor: Actor) -> Subscriber[str]:
        """Subscribe a participant; the first item queued for them is the current state."""
        subscriber = self._fanout.subscribe(actor.participant_id)
        subscriber.offer(state_message(self.log.state()))
        return subscriber

    def leave(self, subscriber: Subscriber[str]) -> None:
        """Unsubscribe one connection of a participant (a newer one stays subscribed)."""
        subscriber.close("left")
        self.log.forget(subscriber.participant_id)

    def handle(self, actor: Actor, command: Mapping[str, Any]) -> list[AnnotationEvent]:
        """Apply a command and fan its events out; domain errors propagate to the caller."""
        events = self.log.apply(actor, command, self._clock.now())
        self.publish(events, actor.participant_id)
        return events

    def anchors_moved(
        self, updates: Mapping[str, FloatArray | None], media_time_s: float | None
    ) -> list[AnnotationEvent]:
        """Record the tracker's view of anchored marks and fan out those that changed."""
        now = self._clock.now()
        events = []
        for mark_id, homography in updates.items():
            events += self.log.update_anchor(mark_id, homography, media_time_s, now)
        self.publish(events)
        return events

    def video(
        self, on_still: Callable[[RenderedStill], Awaitable[object]] | None = None
    ) -> AnnotationVideo:
        """Return the video side of this room (frames, stills, trackers), sharing its log."""
        return AnnotationVideo(self.log, self.publish, self._clock, on_still=on_still)

    def close(self) -> None:
        """Close every subscriber; idempotent."""
        self._fanout.close()

    def __len__(self) -> int:
        """Number of participants subscribed."""
        return len(self._fanout)

    def publish(self, events: list[AnnotationEvent], sender: str | None = None) -> None:
        """Queue each event for everyone; the sender does not get its own pointer back."""
        for event in events:
            exclude = sender if event.type is EventType.POINTER else None
            dropped = self._fanout.publish(event_message(event), exclude=exclude)
            for participant_id in dropped:
                logger.info("participant %s dropped from annotations: too slow", participant_id)


def event_message(event: AnnotationEvent) -> str:
    """Return the JSON server event carrying ``event``."""
    return json.dumps({"type": EVENT_TYPE, "annotation": event.to_wire()}, separators=(",", ":"))


def state_message(state: AnnotationState) -> str:
    """Return the JSON server event carrying the state for a joiner."""
    return json.dumps({"type": STATE_TYPE, "state": state.to_wire()}, separators=(",", ":"))
