"""A video track that plays a clip file in real time, for devices, tests and benchmarks.

Unlike aiortc's MediaPlayer it can hold on the first frame until told to play, the way a
patient stands still until the therapist says "go"; the clip's own frame rate paces it.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from pathlib import Path

import av
from aiortc import MediaStreamTrack

from sessions.exceptions import ValidationError

VIDEO_CLOCK = 90_000


def _decode(path: Path, max_side: int | None) -> tuple[list[av.VideoFrame], float]:
    """Every frame of the clip (as yuv420p) and its frame rate."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            rate = float(stream.average_rate or 30)
            frames = []
            for frame in container.decode(stream):
                if max_side and max(frame.width, frame.height) > max_side:
                    scale = max_side / max(frame.width, frame.height)
                    frame = frame.reformat(
                        width=int(frame.width * scale) // 2 * 2,
                        height=int(frame.height * scale) // 2 * 2,
                    )
                frames.append(frame.reformat(format="yuv420p"))
    except (av.FFmpegError, IndexError) as exc:
        raise ValidationError(f"cannot read video {path}: {exc}") from exc
    if not frames:
        raise ValidationError(f"video {path} has no frames")
    return frames, rate


class ClipVideoTrack(MediaStreamTrack):
    """Plays a clip's frames at its frame rate; optionally holds on frame 0, optionally loops."""

    kind = "video"

    def __init__(
        self, frames: list[av.VideoFrame], fps: float, *, hold: bool = False, loop: bool = False
    ) -> None:
        super().__init__()
        self._frames = frames
        self._period = 1.0 / fps
        self._looping = loop
        self._playing = asyncio.Event()
        if not hold:
            self._playing.set()
        self._index = 0
        self._count = 0
        self._started: float | None = None
        self.finished = asyncio.Event()
        """Set once the last frame was sent (never, when looping)."""

    @classmethod
    async def open(
        cls, path: Path, *, hold: bool = False, loop: bool = False, max_side: int | None = None
    ) -> ClipVideoTrack:
        """Decode the clip off the event loop and return a track playing it."""
        frames, fps = await asyncio.to_thread(_decode, path, max_side)
        return cls(frames, fps, hold=hold, loop=loop)

    @property
    def duration_s(self) -> float:
        """Length of one pass through the clip."""
        return len(self._frames) * self._period

    def play(self) -> None:
        """Leave the first frame and play the clip."""
        self._playing.set()

    async def recv(self) -> av.VideoFrame:
        """The next frame, paced in real time."""
        if self._started is None:
            self._started = time.monotonic()
        due = self._started + self._count * self._period
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        frame = self._next_frame()
        stamped = av.VideoFrame.from_ndarray(frame.to_ndarray(), format="yuv420p")
        stamped.pts = int(self._count * self._period * VIDEO_CLOCK)
        stamped.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._count += 1
        return stamped

    def _next_frame(self) -> av.VideoFrame:
        if not self._playing.is_set():
            return self._frames[0]
        frame = self._frames[self._index]
        self._index += 1
        if self._index >= len(self._frames):
            self._index = 0 if self._looping else len(self._frames) - 1
            if not self._looping:
                self.finished.set()
        return frame
