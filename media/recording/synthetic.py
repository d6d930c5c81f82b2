"""Synthetic encoded media for tests and benchmarks: marker video and a tone, really encoded.

Each video frame carries its index in its pixels (16 black/white blocks across the top),
so a test can read which frames survived a remux; the audio is a sine tone in Opus.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from sessions.ids import new_id

MARKER_BITS = 16

Frame = npt.NDArray[np.uint8]


def _block(width: int) -> int:
    # Up to 40 px per bit, smaller on narrow frames so all 16 bits fit across the top.
    return max(8, min(40, width // MARKER_BITS))


def marker_frame(index: int, width: int, height: int) -> Frame:
    """Return an RGB frame whose top row of blocks spells ``index`` in binary."""
    block = _block(width)
    frame = np.full((height, width, 3), 64, dtype=np.uint8)
    # A moving bar gives the encoder real motion to code, as a camera would.
    bar = (index * 8) % max(1, width - 40)
    frame[block * 2 :, bar : bar + 40] = (200, 120, 40)
    for bit in range(MARKER_BITS):
        value = 255 if (index >> bit) & 1 else 0
        frame[:block, bit * block : (bit + 1) * block] = value
    return frame


def read_marker(frame: npt.NDArray[Any]) -> int:
    """Read the index back from a (decoded, possibly lossy) marker frame."""
    block = _block(frame.shape[1])
    inset = block // 4
    index = 0
    for bit in range(MARKER_BITS):
        cell = frame[inset : block - inset, bit * block + inset : (bit + 1) * block - inset]
        if float(cell.mean()) > 127:
            index |= 1 << bit
    return index


def vp8_encoder(width: int, height: int, fps: int, gop: int) -> av.VideoCodecContext:
    """Return a real-time libvpx encoder configured as a WebRTC sender would be."""
    enc = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height = width, height
    enc.pix_fmt = "yuv420p"
    enc.time_base = Fraction(1, 90000)
    enc.framerate = Fraction(fps, 1)
    enc.bit_rate = 1_500_000 if width >= 1280 else 600_000
    enc.gop_size = gop
    enc.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    return enc


def vp8_packets(
    frames: int, width: int = 1280, height: int = 720, fps: int = 30, *, rtp_start: int = 0
) -> Iterator[tuple[av.Packet, bool]]:
    """Yield (packet, keyframe) of marker video with RTP-style pts (1/90000, wrapping)."""
    enc = vp8_encoder(width, height, fps, gop=fps * 2)
    step = 90000 // fps
    for index in range(frames):
        frame = av.VideoFrame.from_ndarray(marker_frame(index, width, height), format="rgb24")
        frame = frame.reformat(format="yuv420p")
        frame.pts = index * step
        frame.time_base = enc.time_base
        for packet in enc.encode(frame):
            yield _rtp_packet(packet, 90000, rtp_start), bool(packet.is_keyframe)


def opus_packets(
    seconds: float, frequency: float = 440.0, *, rtp_start: int = 0
) -> Iterator[tuple[av.Packet, bool]]:
    """Yield (packet, True) of a 20 ms-framed Opus sine tone with RTP-style pts (1/48000)."""
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate = 48000
    enc.layout = "stereo"
    enc.format = "s16"
    enc.time_base = Fraction(1, 48000)
    samples = 960
    for index in range(int(seconds * 50)):
        start = index * samples
        t = (np.arange(samples) + start) / 48000
        mono = (np.sin(2 * np.pi * frequency * t) * 12000).astype(np.int16)
        pcm = np.repeat(mono, 2).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="stereo")
        frame.sample_rate = 48000
        frame.pts = start
        frame.time_base = enc.time_base
        for packet in enc.encode(frame):
            yield _rtp_packet(packet, 48000, rtp_start), True


def _rtp_packet(packet: av.Packet, clock_rate: int, rtp_start: int) -> av.Packet:
    # What the media router hands over: a fresh packet, pts = 32-bit RTP timestamp.
    out = av.Packet(bytes(packet))
    out.pts = out.dts = (int(packet.pts or 0) + rtp_start) % (1 << 32)
    out.time_base = Fraction(1, clock_rate)
    return out


class SyntheticProducer:
    """A stand-in for media.producer.Producer that plays pre-encoded packets to observers."""

    def __init__(self, participant_id: str, codec: str) -> None:
        self.id = new_id("prd")
        self.participant_id = participant_id
        self.kind = codec.split("/", 1)[0]
        self._codec = codec
        self._observers: list[Callable[[av.Packet, bool], None]] = []

    @property
    def codec(self) -> str:
        """MIME type of the packets."""
        return self._codec

    def add_packet_observer(self, observer: Callable[[av.Packet, bool], None]) -> None:
        """Start sending packets to ``observer``."""
        self._observers.append(observer)

    def remove_packet_observer(self, observer: Callable[[av.Packet, bool], None]) -> None:
        """Stop sending packets to ``observer``."""
        if observer in self._observers:
            self._observers.remove(observer)

    def emit(self, packet: av.Packet, keyframe: bool) -> None:
        """Deliver one packet, a fresh copy per observer as the real Producer does."""
        for observer in list(self._observers):
            copy = av.Packet(bytes(packet))
            copy.pts = copy.dts = packet.pts
            copy.time_base = packet.time_base
            observer(copy, keyframe)
