"""The last few decoded frames of a producer, so a freeze takes the frame the expert saw.

The expert's screen runs behind the server by the network delay, so the newest frame is
not the one they froze; the freeze names a media time and the frame closest to it is taken
from a short history. Only references are kept here; conversion to pixels happens in a
worker thread when a still is actually rendered.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from annotations.tracking import frame_media_time


class FrameHistory:
    """A frame observer (``history(frame)``) that keeps the newest ``size`` frames."""

    def __init__(self, size: int = 15) -> None:
        self._frames: deque[tuple[float | None, Any]] = deque(maxlen=size)

    def __call__(self, frame: Any) -> None:
        """Remember ``frame`` (an av.VideoFrame or anything with pts and time_base)."""
        self._frames.append((frame_media_time(frame), frame))

    def newest(self) -> Any | None:
        """Return the newest frame, or None before the first one."""
        return self._frames[-1][1] if self._frames else None

    def at(self, media_time_s: float) -> Any | None:
        """Return the frame whose media time is closest to ``media_time_s`` (or the newest)."""
        timed = [
            (abs(t - media_time_s), i) for i, (t, _) in enumerate(self._frames) if t is not None
        ]
        if not timed:
            return self.newest()
        return self._frames[min(timed)[1]][1]

    def clear(self) -> None:
        """Drop every frame (the producer closed)."""
        self._frames.clear()
