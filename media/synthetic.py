"""Synthetic test and benchmark sources: a video track stamped with a frame counter and a
send time that survive VP8 compression, a reader for the stamp, and a tone audio track."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

VIDEO_CLOCK = 90_000
AUDIO_RATE = 48_000
AUDIO_PTIME_S = 0.02
# 64 bits as a 16 x 4 grid of black/white blocks across the top of the frame: blocks of
# 1/16 of the width survive even a starved VP8 encoder, unlike small digits.
GRID_COLUMNS = 16
GRID_ROWS = 4
COUNTER_BITS = 24
TIME_BITS = 32
CHECK_BITS = 8


@dataclass(frozen=True)
class Stamp:
    """What a stamped frame carries."""

    counter: int
    "Frame number, from 0, modulo 2**24."
    sent_ms: int
    "Wall-clock time the frame was produced, in ms, modulo 2**32."


def now_ms() -> int:
    """Wall-clock milliseconds modulo 2**32, the unit of Stamp.sent_ms."""
    return int(time.time() * 1000) % (1 << TIME_BITS)


def _checksum(counter: int, sent_ms: int) -> int:
    value = counter ^ (sent_ms << 3) ^ 0x5A
    total = 0
    while value:
        total ^= value & 0xFF
        value >>= 8
    return total


def stamp_bits(stamp: Stamp) -> list[int]:
    """Encode a stamp as 64 bits, most significant first: counter, time, checksum."""
    value = (stamp.counter % (1 << COUNTER_BITS)) << (TIME_BITS + CHECK_BITS)
    value |= (stamp.sent_ms % (1 << TIME_BITS)) << CHECK_BITS
    value |= _checksum(stamp.counter % (1 << COUNTER_BITS), stamp.sent_ms % (1 << TIME_BITS))
    return [(value >> (63 - i)) & 1 for i in range(64)]


def bits_stamp(bits: list[int]) -> Stamp | None:
    """Decode 64 bits back into a stamp; None when the checksum does not match."""
    value = 0
    for bit in bits:
        value = (value << 1) | bit
    counter = value >> (TIME_BITS + CHECK_BITS)
    sent_ms = (value >> CHECK_BITS) & ((1 << TIME_BITS) - 1)
    if value & 0xFF != _checksum(counter, sent_ms):
        return None
    return Stamp(counter, sent_ms)


def _block(width: int) -> int:
    return width // GRID_COLUMNS


def draw_stamp(luma: np.ndarray, stamp: Stamp) -> None:
    """Draw the stamp's blocks into a luma plane (in place)."""
    size = _block(luma.shape[1])
    for i, bit in enumerate(stamp_bits(stamp)):
        row, col = divmod(i, GRID_COLUMNS)
        luma[row * size : (row + 1) * size, col * size : (col + 1) * size] = 235 if bit else 16


def read_stamp(frame: av.VideoFrame) -> Stamp | None:
    """Read the stamp back from a decoded frame; None if it is not a stamped frame."""
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    luma = frame.to_ndarray()[: frame.height]
    size = _block(frame.width)
    quarter = size // 4
    bits = []
    for i in range(GRID_COLUMNS * GRID_ROWS):
        row, col = divmod(i, GRID_COLUMNS)
        # Sample the middle of the block, away from edges the encoder blurs.
        y0, x0 = row * size + quarter, col * size + quarter
        patch = luma[y0 : y0 + 2 * quarter, x0 : x0 + 2 * quarter]
        bits.append(int(patch.mean() > 128))
    return bits_stamp(bits)


class _Pacer:
    """Sleeps so that item n is produced at start + n * period."""

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self.count = 0
        self._start: float | None = None

    async def next(self) -> int:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        else:
            self.count += 1
            delay = self._start + self.count * self.period_s - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        return self.count


def _background(width: int, height: int, detail: str) -> np.ndarray:
    """A luma texture that is rolled sideways each frame, so the encoder sees motion."""
    if detail == "ramp":
        # Cheap to encode: tests stay light on a shared machine.
        x = np.arange(width, dtype=np.uint16)
        y = np.arange(height, dtype=np.uint16)[:, None]
        return ((x + y) % 200 + 28).astype(np.uint8)
    if detail == "noise":
        # 4x4-pixel random blocks: the encoder needs a camera-like bitrate for them.
        rng = np.random.default_rng(7)
        blocks = rng.integers(16, 236, size=(height // 4 + 1, width // 4 + 1), dtype=np.uint8)
        return np.kron(blocks, np.ones((4, 4), dtype=np.uint8))[:height, :width].copy()
    raise ValueError(f"unknown detail {detail!r}: use 'ramp' or 'noise'")


class StampedVideoTrack(MediaStreamTrack):
    """Video with a moving background and a stamp block grid (counter, send time) on top."""

    kind = "video"

    def __init__(
        self, width: int = 640, height: int = 480, fps: float = 30.0, detail: str = "ramp"
    ) -> None:
        super().__init__()
        if width < GRID_COLUMNS * 8 or height < GRID_ROWS * width // GRID_COLUMNS:
            raise ValueError(f"{width}x{height} is too small for the stamp grid")
        self.width, self.height, self.fps = width, height, fps
        self._pacer = _Pacer(1.0 / fps)
        self._background = _background(width, height, detail)
        self._chroma = np.full((height // 2, width), 128, dtype=np.uint8)

    def make_frame(self, counter: int) -> av.VideoFrame:
        """Build frame ``counter`` stamped with the current time."""
        luma = np.roll(self._background, counter * 4, axis=1)
        draw_stamp(luma, Stamp(counter, now_ms()))
        frame = av.VideoFrame.from_ndarray(np.vstack([luma, self._chroma]), format="yuv420p")
        frame.pts = round(counter * VIDEO_CLOCK / self.fps)
        frame.time_base = Fraction(1, VIDEO_CLOCK)
        return frame

    async def recv(self) -> av.VideoFrame:
        """Return the next frame at the track's frame rate."""
        if self.readyState != "live":
            raise MediaStreamError
        return self.make_frame(await self._pacer.next())


class ToneAudioTrack(MediaStreamTrack):
    """A continuous sine tone, 20 ms mono s16 frames at 48 kHz."""

    kind = "audio"

    def __init__(self, frequency_hz: float = 440.0, level: float = 0.3) -> None:
        super().__init__()
        self._pacer = _Pacer(AUDIO_PTIME_S)
        samples = int(AUDIO_RATE * AUDIO_PTIME_S)
        self._phase_step = 2 * math.pi * frequency_hz / AUDIO_RATE
        self._index = np.arange(samples)
        self._amplitude = level * 32767

    async def recv(self) -> av.AudioFrame:
        """Return the next 20 ms of tone."""
        if self.readyState != "live":
            raise MediaStreamError
        count = await self._pacer.next()
        start = count * len(self._index)
        wave = self._amplitude * np.sin((start + self._index) * self._phase_step)
        frame = av.AudioFrame.from_ndarray(
            wave.astype(np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = AUDIO_RATE
        frame.pts = start
        frame.time_base = Fraction(1, AUDIO_RATE)
        return frame


def encode_vp8_loop(
    width: int, height: int, fps: float, bitrate_bps: int, frames: int
) -> list[bytes]:
    """Encode ``frames`` frames to VP8 once, keyframe first and only, for replay.

    Encoding 720p live costs a client a large part of a core; benchmarks that only count
    packets replay this loop instead, at a camera-like bitrate and almost no CPU. Each
    frame gets a band of fresh noise, so delta frames carry real bits as a camera's do.
    """
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = Fraction(1, round(fps))
    codec.bit_rate = bitrate_bps
    codec.gop_size = frames
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    payloads: list[bytes] = []
    for i in range(frames):
        frame = av.VideoFrame.from_ndarray(_loop_frame(width, height, i), format="yuv420p")
        frame.pts, frame.time_base = i, Fraction(1, round(fps))
        payloads.extend(bytes(p) for p in codec.encode(frame))
    payloads.extend(bytes(p) for p in codec.encode(None))
    return payloads


def _loop_frame(width: int, height: int, index: int) -> np.ndarray:
    """A yuv420p image: a rolled ramp, a moving band of fresh 8x8 noise, a stamp."""
    luma = np.roll(_background(width, height, "ramp"), index * 4, axis=1)
    band = height // 6
    top = (index * band // 2) % (height - band)
    rng = np.random.default_rng(index)
    blocks = rng.integers(16, 236, size=(band // 8 + 1, width // 8 + 1), dtype=np.uint8)
    luma[top : top + band] = np.kron(blocks, np.ones((8, 8), dtype=np.uint8))[:band, :width]
    draw_stamp(luma, Stamp(index, 0))
    return np.vstack([luma, np.full((height // 2, width), 128, dtype=np.uint8)])


class LoopedVp8Track(MediaStreamTrack):
    """Replays pre-encoded VP8 frames in a loop at ``fps``; aiortc's sender only packetizes
    them. The loop starts with its only keyframe, so a new receiver waits at most a loop."""

    kind = "video"

    def __init__(self, payloads: list[bytes], fps: float) -> None:
        super().__init__()
        if not payloads:
            raise ValueError("nothing to replay")
        self._payloads = payloads
        self._fps = fps
        self._pacer = _Pacer(1.0 / fps)

    async def recv(self) -> av.Packet:
        """Return the next encoded frame at the track's frame rate."""
        if self.readyState != "live":
            raise MediaStreamError
        count = await self._pacer.next()
        packet = av.Packet(self._payloads[count % len(self._payloads)])
        packet.pts = round(count * VIDEO_CLOCK / self._fps)
        packet.time_base = Fraction(1, VIDEO_CLOCK)
        return packet
