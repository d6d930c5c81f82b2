"""The encoded-frame hook into aiortc 1.16 receivers and senders (pinned to that version).

aiortc has no public API between its jitter buffer and its decoder thread, nor a way to
forward a subscriber's PLI anywhere but its own encoder. This module is the only place that
touches aiortc's private attributes; everything else in ``media/`` uses the functions here.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from typing import Any

import aiortc
from aiortc import MediaStreamTrack, RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.codecs import get_capabilities, is_rtx
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecCapability, RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from sessions.exceptions import TeleGuideError

logger = logging.getLogger(__name__)

#: The aiortc release whose private receiver/sender attributes this module was written for.
SUPPORTED_AIORTC_VERSION = "1.16.0"

_DECODER_QUEUE_ATTR = "_RTCRtpReceiver__decoder_queue"
_JITTER_BUFFER_ATTR = "_RTCRtpReceiver__jitter_buffer"
_DECODER_THREAD_ATTR = "_RTCRtpReceiver__decoder_thread"

FrameSink = Callable[[RTCRtpCodecParameters, JitterFrame], None]


class UnsupportedAiortcError(TeleGuideError):
    """The installed aiortc is not the version the forwarding tap was written for."""

    code = "unsupported_aiortc"


def check_aiortc_version(version: str | None = None) -> None:
    """Raise UnsupportedAiortcError unless aiortc is the pinned version."""
    found = version if version is not None else aiortc.__version__
    if found != SUPPORTED_AIORTC_VERSION:
        raise UnsupportedAiortcError(
            f"media/tap.py hooks into aiortc {SUPPORTED_AIORTC_VERSION} internals but "
            f"aiortc {found} is installed; pin aiortc=={SUPPORTED_AIORTC_VERSION} or port "
            "the tap (see docs/media.md)",
            found=found,
        )


class TapQueue(queue.Queue[Any]):
    """Replaces a receiver's decoder queue: hands every encoded frame to a sink, and lets
    it through to aiortc's decoder thread only while decoding is wanted."""

    def __init__(self, sink: FrameSink) -> None:
        super().__init__()
        self._sink = sink
        self.decode_enabled = False
        self.decoded_frames = 0

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        """Forward an encoded frame to the sink; pass it on to the decoder if enabled."""
        if item is None:
            # aiortc's stop signal for the decoder thread must always get through.
            super().put(None, block, timeout)
            return
        codec, frame = item
        self._sink(codec, frame)
        if self.decode_enabled:
            self.decoded_frames += 1
            super().put(item, block, timeout)


class TappedFrame(JitterFrame):
    """An encoded frame that also tells whether frames were lost just before it."""

    def __init__(self, data: bytes, timestamp: int, after_gap: bool) -> None:
        super().__init__(data, timestamp)
        self.after_gap = after_gap


class MarkerJitterBuffer(JitterBuffer):
    """A video jitter buffer that releases a frame as soon as its marker packet arrives.

    aiortc's own buffer only releases a frame when the first packet of the next frame
    arrives, which adds one frame interval (33 ms at 30 fps) to every hop through us.
    Frames come out whole and in order; ``after_gap`` marks one released after packets
    that never arrived (the buffer gave up on them), whose references may be missing.
    """

    def __init__(self, capacity: int, prefetch: int = 0, is_video: bool = False) -> None:
        super().__init__(capacity, prefetch, is_video)
        self._last_sequence: int | None = None

    def _release(self, count: int, first: RtpPacket, chunks: list[bytes]) -> TappedFrame:
        last = self._packets[(first.sequence_number + count - 1) % self._capacity]
        expected = None if self._last_sequence is None else (self._last_sequence + 1) & 0xFFFF
        after_gap = expected is not None and first.sequence_number != expected
        self._last_sequence = last.sequence_number if last is not None else None
        self.remove(count)
        return TappedFrame(b"".join(chunks), first.timestamp, after_gap)

    def _remove_frame(self, sequence_number: int) -> TappedFrame | None:
        origin = self._origin
        if origin is None:
            return None
        first = self._packets[origin % self._capacity]
        if first is None:
            return None
        return self._complete_from(origin, first)

    def _complete_from(self, origin: int, first: RtpPacket) -> TappedFrame | None:
        chunks: list[bytes] = []
        for count in range(self._capacity):
            packet = self._packets[(origin + count) % self._capacity]
            if packet is None:
                return None
            if packet.timestamp != first.timestamp:
                # The next frame started: the stored one is complete (aiortc's own rule).
                return self._release(count, first, chunks)
            chunks.append(packet._data)  # type: ignore[attr-defined]
            if packet.marker:
                return self._release(count + 1, first, chunks)
        return None


def install_receiver_tap(receiver: RTCRtpReceiver, kind: str, sink: FrameSink) -> TapQueue:
    """Hook ``sink`` into a receiver's encoded frames; call before the receiver starts."""
    check_aiortc_version()
    if getattr(receiver, _DECODER_THREAD_ATTR, None) is not None:
        raise TeleGuideError("the receiver already started; install the tap before connecting")
    tap = TapQueue(sink)
    setattr(receiver, _DECODER_QUEUE_ATTR, tap)
    if kind == "video":
        setattr(receiver, _JITTER_BUFFER_ATTR, MarkerJitterBuffer(capacity=512, is_video=True))
    return tap


def install_keyframe_request_hook(sender: RTCRtpSender, on_request: Callable[[], None]) -> None:
    """Route the PLI/FIR a sender receives from its peer to ``on_request``."""
    check_aiortc_version()
    # RTCRtpSender handles PLI and FIR by calling self._send_keyframe(); an instance
    # attribute shadows that method for this sender only.
    sender._send_keyframe = on_request  # type: ignore[method-assign]


async def send_pli(receiver: RTCRtpReceiver) -> bool:
    """Send a PLI for every SSRC the receiver is receiving; return whether one was sent."""
    sources = receiver.getSynchronizationSources()
    for source in sources:
        await receiver._send_rtcp_pli(source.source)
    return bool(sources)


def take_newest_frame(track: MediaStreamTrack, frame: Any) -> Any:
    """Return the newest frame already decoded for a receiver's track, dropping older ones."""
    pending = track._queue  # type: ignore[attr-defined] # RemoteStreamTrack's asyncio.Queue of decoded frames
    while not pending.empty():
        newer = pending.get_nowait()
        if newer is None:
            # End of track: leave the marker so the next recv() raises as aiortc intends.
            pending.put_nowait(None)
            break
        frame = newer
    return frame


def negotiated_codec(transceiver: RTCRtpTransceiver) -> RTCRtpCodecParameters:
    """Return the first negotiated (non-RTX) codec of a transceiver."""
    for codec in transceiver._codecs:
        if not is_rtx(codec):
            return codec
    raise TeleGuideError(f"no codec negotiated for {transceiver.kind}")


def restrict_to_codec(transceiver: RTCRtpTransceiver, codec: RTCRtpCodecParameters) -> None:
    """Keep only ``codec`` (and its RTX) in an answer, so the publisher must send it."""
    transceiver._codecs = [
        c
        for c in transceiver._codecs
        if c is codec or (is_rtx(c) and c.parameters.get("apt") == codec.payloadType)
    ]


def capability_for(codec: RTCRtpCodecParameters) -> list[RTCRtpCodecCapability]:
    """Return the local capabilities matching ``codec`` (plus RTX) for setCodecPreferences."""
    capabilities = get_capabilities(codec.mimeType.split("/")[0]).codecs
    chosen = [
        c
        for c in capabilities
        if c.mimeType.lower() == codec.mimeType.lower() and c.parameters == codec.parameters
    ]
    if not chosen:
        raise TeleGuideError(f"codec {codec.mimeType} {codec.parameters} cannot be forwarded")
    return chosen + [c for c in capabilities if is_rtx(c)]
