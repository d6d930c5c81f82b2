"""Producer: one incoming track of a participant, forwarded encoded and decoded on demand."""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable
from fractions import Fraction

import av
from aiortc import RTCRtpReceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from media.keyframes import is_keyframe
from media.pli import PliLimiter
from media.tap import install_receiver_tap, send_pli, take_newest_frame
from sessions.ids import new_id

logger = logging.getLogger(__name__)

PacketObserver = Callable[[av.Packet, bool], None]
FrameObserver = Callable[[av.VideoFrame], None]


class ProducerState(enum.Enum):
    """Lifecycle of a producer; PAUSED means muted by its publisher or a moderator."""

    LIVE = "live"
    PAUSED = "paused"
    CLOSED = "closed"


class Producer:
    """An incoming track: fans its encoded frames out to consumers and observers."""

    def __init__(
        self,
        participant_id: str,
        kind: str,
        codec: RTCRtpCodecParameters,
        receiver: RTCRtpReceiver,
        *,
        pli_interval_s: float = 1.0,
    ) -> None:
        self.id = new_id("prd")
        self.participant_id = participant_id
        self.kind = kind
        self.codec_parameters = codec
        self.state = ProducerState.LIVE
        self.frames_received = 0
        self.bytes_received = 0
        self.frames_skipped = 0
        self._broken = False
        self.keyframes_received = 0
        self.plis_sent = 0
        # Bumped on resume: frames after a pause reference frames subscribers never got.
        self.epoch = 0
        self._receiver = receiver
        self._time_base = Fraction(1, codec.clockRate)
        self._limiter = PliLimiter(pli_interval_s)
        self._pli_timer: asyncio.TimerHandle | None = None
        self._sinks: list[PacketObserver] = []
        self._packet_observers: list[PacketObserver] = []
        self._frame_observers: list[FrameObserver] = []
        self._reader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._on_closed: list[Callable[[Producer], None]] = []
        self._tap = install_receiver_tap(receiver, kind, self._on_encoded_frame)

    def __repr__(self) -> str:
        return f"Producer({self.id}, {self.kind}, {self.state.name})"

    @property
    def codec(self) -> str:
        """The MIME type of the forwarded codec, e.g. video/VP8."""
        return str(self.codec_parameters.mimeType)

    @property
    def paused(self) -> bool:
        """Whether the producer is muted."""
        return self.state is ProducerState.PAUSED

    @property
    def closed(self) -> bool:
        """Whether the producer is closed."""
        return self.state is ProducerState.CLOSED

    @property
    def decoded_frames(self) -> int:
        """How many encoded frames were handed to the decoder (0 while nobody asks)."""
        return self._tap.decoded_frames

    def _set_state(self, state: ProducerState) -> None:
        if state is self.state:
            return
        logger.info("%s: %s -> %s", self.id, self.state.name, state.name)
        self.state = state

    # --- encoded path -------------------------------------------------------------------

    def _on_encoded_frame(self, codec: RTCRtpCodecParameters, frame: JitterFrame) -> None:
        if self.state is not ProducerState.LIVE:
            return
        keyframe = is_keyframe(self.codec, frame.data)
        self.frames_received += 1
        self.bytes_received += len(frame.data)
        if not self._intact(frame, keyframe):
            return
        self.keyframes_received += int(keyframe)
        if self._sinks:
            # One shared packet for all consumers: aiortc's pack() only reads it.
            shared = self._packet(frame)
            for sink in list(self._sinks):
                sink(shared, keyframe)
        for observer in list(self._packet_observers):
            # Observers (the recorder's muxer) may rewrite pts/time_base: each gets its own.
            observer(self._packet(frame), keyframe)

    def _intact(self, frame: JitterFrame, keyframe: bool) -> bool:
        """After lost frames, hold delta frames back until a keyframe: they reference
        pictures nobody downstream has, and would decode (and record) as garbage."""
        if getattr(frame, "after_gap", False) and not keyframe:
            if not self._broken:
                self._broken = True
                self.request_keyframe()
        elif keyframe:
            self._broken = False
        if self._broken:
            self.frames_skipped += 1
        return not self._broken

    def _packet(self, frame: JitterFrame) -> av.Packet:
        packet = av.Packet(frame.data)
        packet.pts = frame.timestamp
        packet.dts = frame.timestamp
        packet.time_base = self._time_base
        return packet

    def add_packet_observer(self, observer: PacketObserver) -> None:
        """Receive every encoded frame as (av.Packet, keyframe); nothing is decoded for it."""
        self._packet_observers.append(observer)
        self.request_keyframe()

    def remove_packet_observer(self, observer: PacketObserver) -> None:
        """Stop sending encoded frames to ``observer``."""
        if observer in self._packet_observers:
            self._packet_observers.remove(observer)

    def _add_sink(self, sink: PacketObserver) -> None:
        self._sinks.append(sink)

    def _remove_sink(self, sink: PacketObserver) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)

    # --- decoded path -------------------------------------------------------------------

    def add_frame_observer(self, observer: FrameObserver) -> None:
        """Receive the newest decoded frame; decoding runs only while an observer exists."""
        self._frame_observers.append(observer)
        if self._tap.decode_enabled or self.closed:
            return
        self._tap.decode_enabled = True
        if self._reader is None:
            self._reader = asyncio.get_running_loop().create_task(self._read_frames())
        # The decoder needs a keyframe to start from.
        self.request_keyframe()

    def remove_frame_observer(self, observer: FrameObserver) -> None:
        """Stop sending frames to ``observer``; decoding stops with the last one."""
        if observer in self._frame_observers:
            self._frame_observers.remove(observer)
        if not self._frame_observers:
            self._tap.decode_enabled = False

    async def _read_frames(self) -> None:
        track = self._receiver.track
        try:
            while True:
                frame = take_newest_frame(track, await track.recv())
                for observer in list(self._frame_observers):
                    observer(frame)
        except MediaStreamError:
            pass

    # --- keyframe requests --------------------------------------------------------------

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe (PLI), at most once per pli interval."""
        if self.kind != "video" or self.closed:
            return
        loop = asyncio.get_running_loop()
        delay = self._limiter.request(loop.time())
        if delay == 0.0:
            self._send_pli()
        elif delay is not None:
            self._pli_timer = loop.call_later(delay, self._fire_pending_pli)

    def _fire_pending_pli(self) -> None:
        self._pli_timer = None
        if not self.closed and self._limiter.fire(asyncio.get_running_loop().time()):
            self._send_pli()

    def _send_pli(self) -> None:
        task = asyncio.get_running_loop().create_task(self._send_pli_now())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_pli_now(self) -> None:
        if await send_pli(self._receiver):
            self.plis_sent += 1

    # --- lifecycle ----------------------------------------------------------------------

    def pause(self) -> bool:
        """Mute: stop forwarding; return whether the state changed."""
        if self.state is not ProducerState.LIVE:
            return False
        self._set_state(ProducerState.PAUSED)
        return True

    def resume(self) -> bool:
        """Unmute: forward again from the next keyframe; return whether the state changed."""
        if self.state is not ProducerState.PAUSED:
            return False
        self._set_state(ProducerState.LIVE)
        self.epoch += 1
        self.request_keyframe()
        return True

    def _add_close_callback(self, callback: Callable[[Producer], None]) -> None:
        self._on_closed.append(callback)

    async def close(self) -> None:
        """Stop forwarding and decoding; consumers fed by it close through the callbacks."""
        if self.closed:
            return
        self._set_state(ProducerState.CLOSED)
        self._tap.decode_enabled = False
        if self._pli_timer is not None:
            self._pli_timer.cancel()
        if self._reader is not None:
            self._reader.cancel()
        for task in list(self._tasks):
            task.cancel()
        self._sinks.clear()
        self._packet_observers.clear()
        self._frame_observers.clear()
        for callback in self._on_closed:
            callback(self)
