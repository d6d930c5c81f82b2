"""Client-side aiortc peers for tests and benchmarks: a publisher, and subscribers that
either count encoded frames (no decoding, so fifty fit on a small machine) or decode and
read the synthetic stamps."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecCapability, RTCRtpCodecParameters

from media.keyframes import is_keyframe
from media.synthetic import Stamp, now_ms, read_stamp
from media.tap import install_receiver_tap

Signal = Callable[[str], Awaitable[str]]


def client_connection() -> RTCPeerConnection:
    """A client peer connection; max-bundle because aiortc's default (balanced) answerer
    leaves a second same-kind m-line on a discarded transport, so it never receives."""
    return RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))


@dataclass
class KeyframeRequests:
    """Counts the PLI/FIR a publisher's sender received."""

    count: int = 0
    "PLI/FIR received so far."


def count_keyframe_requests(sender: RTCRtpSender) -> KeyframeRequests:
    """Count the keyframe requests a sender gets, still letting its encoder honour them."""
    counter = KeyframeRequests()
    original = sender._send_keyframe

    def hook() -> None:
        counter.count += 1
        original()

    sender._send_keyframe = hook  # type: ignore[method-assign]
    return counter


@dataclass
class Publisher:
    """A publishing client peer."""

    pc: RTCPeerConnection
    "Its peer connection."
    keyframe_requests: dict[str, KeyframeRequests]
    "PLI/FIR counters by track kind."

    async def close(self) -> None:
        """Close the peer connection."""
        await self.pc.close()


async def start_publisher(
    tracks: list[MediaStreamTrack],
    publish: Signal,
    video_codec: RTCRtpCodecCapability | None = None,
) -> Publisher:
    """Offer send-only tracks through ``publish`` (offer SDP -> answer SDP)."""
    pc = client_connection()
    requests = {}
    for track in tracks:
        transceiver = pc.addTransceiver(track, direction="sendonly")
        if track.kind == "video" and video_codec is not None:
            transceiver.setCodecPreferences([video_codec])
        requests[track.kind] = count_keyframe_requests(transceiver.sender)
    await pc.setLocalDescription(await pc.createOffer())
    answer = await publish(pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    return Publisher(pc, requests)


@dataclass
class TrackStats:
    """What one subscriber received on one track."""

    kind: str
    "audio or video."
    frames: int = 0
    "Encoded frames received."
    keyframes: int = 0
    "Of which keyframes."
    first_is_keyframe: bool | None = None
    "Whether the first frame received was a keyframe."
    stamps: list[Stamp] = field(default_factory=list)
    "Stamps read from decoded frames (decoding subscribers only)."
    latencies_ms: list[int] = field(default_factory=list)
    "Receive time minus stamped send time, per decoded frame."
    unreadable: int = 0
    "Decoded frames whose stamp did not read back."


class Subscriber:
    """A subscribing client peer: answers a server offer, then counts or reads frames."""

    def __init__(self, decode: bool) -> None:
        self.pc = client_connection()
        self.decode = decode
        self.tracks: list[TrackStats] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def answer(self, offer_sdp: str) -> str:
        """Apply the server's offer and return this client's answer SDP."""
        await self.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        for transceiver in self.pc.getTransceivers():
            stats = TrackStats(transceiver.kind)
            self.tracks.append(stats)
            tap = install_receiver_tap(transceiver.receiver, transceiver.kind, self._counter(stats))
            tap.decode_enabled = self.decode
            if self.decode and transceiver.kind == "video":
                track = transceiver.receiver.track
                self._tasks.append(asyncio.create_task(self._read(track, stats)))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return str(self.pc.localDescription.sdp)

    @staticmethod
    def _counter(stats: TrackStats) -> Callable[[RTCRtpCodecParameters, JitterFrame], None]:
        def count(codec: RTCRtpCodecParameters, frame: JitterFrame) -> None:
            keyframe = is_keyframe(codec.mimeType, frame.data)
            if stats.first_is_keyframe is None:
                stats.first_is_keyframe = keyframe
            stats.frames += 1
            stats.keyframes += int(keyframe)

        return count

    @staticmethod
    async def _read(track: MediaStreamTrack, stats: TrackStats) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                received = now_ms()
                # Stamp reading is numpy work of well under a millisecond per frame.
                stamp = read_stamp(frame)  # type: ignore[arg-type]
                if stamp is None:
                    stats.unreadable += 1
                    continue
                stats.stamps.append(stamp)
                stats.latencies_ms.append((received - stamp.sent_ms) % (1 << 32))

    def video(self) -> list[TrackStats]:
        """The stats of the video tracks."""
        return [t for t in self.tracks if t.kind == "video"]

    async def close(self) -> None:
        """Close the peer connection and stop reading."""
        await self.pc.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def wait_for(
    predicate: Callable[[], bool], timeout_s: float, interval_s: float = 0.05
) -> bool:
    """Poll ``predicate`` until it holds or ``timeout_s`` passes; return its last value."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(interval_s)
    return True
