"""Consumer: one outgoing track fed with a producer's encoded frames, never re-encoded."""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections import deque
from collections.abc import Callable

import av
from aiortc import MediaStreamTrack, RTCRtpSender
from aiortc.mediastreams import MediaStreamError

from media.producer import Producer
from media.tap import install_keyframe_request_hook
from sessions.ids import new_id

logger = logging.getLogger(__name__)

#: About one second of video: more queued than that means the subscriber's sender stalls.
DEFAULT_QUEUE_FRAMES = 32
WAIT_SAMPLES = 2000


class PacketTrack(MediaStreamTrack):
    """A track whose recv() yields pre-encoded av.Packets, which RTCRtpSender only packetizes."""

    def __init__(self, kind: str, max_frames: int = DEFAULT_QUEUE_FRAMES) -> None:
        super().__init__()
        self.kind = kind
        self._queue: asyncio.Queue[tuple[av.Packet, float] | None] = asyncio.Queue(
            maxsize=max_frames
        )
        #: How long recent frames waited in the server before their sender took them (ms).
        self.wait_ms: deque[float] = deque(maxlen=WAIT_SAMPLES)

    def offer(self, packet: av.Packet) -> bool:
        """Queue a packet for sending; return False when the queue is full."""
        try:
            self._queue.put_nowait((packet, time.perf_counter()))
        except asyncio.QueueFull:
            return False
        return True

    def flush(self) -> None:
        """Drop every queued packet."""
        while not self._queue.empty():
            self._queue.get_nowait()

    async def recv(self) -> av.Packet:
        """Return the next packet to send."""
        if self.readyState != "live":
            raise MediaStreamError
        item = await self._queue.get()
        if item is None:
            raise MediaStreamError
        packet, queued_at = item
        self.wait_ms.append(1000.0 * (time.perf_counter() - queued_at))
        return packet

    def stop(self) -> None:
        """End the track; the sender's loop sees MediaStreamError and exits."""
        if self.readyState == "live":
            self.flush()
            self._queue.put_nowait(None)
        super().stop()


class ConsumerState(enum.Enum):
    """Lifecycle of a consumer."""

    WAITING = "waiting"  # transport not connected yet: nothing to send to
    LIVE = "live"
    CLOSED = "closed"


class Consumer:
    """Forwards one producer's encoded frames to one subscriber, starting on a keyframe."""

    def __init__(self, participant_id: str, producer: Producer, sender: RTCRtpSender) -> None:
        self.id = new_id("csm")
        self.participant_id = participant_id
        self.producer = producer
        self.kind = producer.kind
        self.state = ConsumerState.WAITING
        self.paused = False
        self.frames_forwarded = 0
        self.frames_dropped = 0
        self.keyframe_requests = 0
        self.track = PacketTrack(producer.kind)
        self._waiting_keyframe = True
        self._epoch = producer.epoch
        self._on_closed: list[Callable[[Consumer], None]] = []
        sender.replaceTrack(self.track)
        install_keyframe_request_hook(sender, self._on_subscriber_pli)
        producer._add_sink(self._deliver)

    def __repr__(self) -> str:
        return f"Consumer({self.id}, {self.kind}, {self.state.name})"

    @property
    def producer_paused(self) -> bool:
        """Whether the producer feeding this consumer is muted."""
        return self.producer.paused

    @property
    def closed(self) -> bool:
        """Whether the consumer is closed."""
        return self.state is ConsumerState.CLOSED

    def _set_state(self, state: ConsumerState) -> None:
        if state is self.state:
            return
        logger.info("%s: %s -> %s", self.id, self.state.name, state.name)
        self.state = state

    def start(self) -> None:
        """The subscriber's transport connected: ask for a keyframe and start forwarding."""
        if self.state is not ConsumerState.WAITING:
            return
        self._set_state(ConsumerState.LIVE)
        self._restart_from_keyframe()

    def _deliver(self, packet: av.Packet, keyframe: bool) -> None:
        if self.state is not ConsumerState.LIVE or self.paused:
            return
        if self._epoch != self.producer.epoch:
            self._epoch = self.producer.epoch
            self._waiting_keyframe = True
        if self._waiting_keyframe and not keyframe:
            self.frames_dropped += 1
            return
        self._waiting_keyframe = False
        if self.track.offer(packet):
            self.frames_forwarded += 1
            return
        # The subscriber's sender fell behind: skip to the next keyframe rather than send
        # stale frames late or a broken reference chain.
        self.frames_dropped += 1
        self.track.flush()
        self._restart_from_keyframe()

    def _restart_from_keyframe(self) -> None:
        self._waiting_keyframe = True
        self.keyframe_requests += 1
        self.producer.request_keyframe()

    def _on_subscriber_pli(self) -> None:
        # A PLI/FIR from the subscriber becomes a rate-limited PLI to the publisher.
        self.keyframe_requests += 1
        self.producer.request_keyframe()

    def pause(self) -> None:
        """Stop sending to this subscriber (its own choice, e.g. a hidden tile)."""
        self.paused = True

    def resume(self) -> None:
        """Send again, from the next keyframe."""
        if self.paused:
            self.paused = False
            self._restart_from_keyframe()

    def _add_close_callback(self, callback: Callable[[Consumer], None]) -> None:
        self._on_closed.append(callback)

    def close(self) -> None:
        """Stop forwarding and end the outgoing track; idempotent."""
        if self.closed:
            return
        self._set_state(ConsumerState.CLOSED)
        self.producer._remove_sink(self._deliver)
        self.track.stop()
        for callback in self._on_closed:
            callback(self)
