"""Probe a recorded file by decoding it: frames, playable duration, and (for tests) markers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import av
import av.error

from media.recording.synthetic import read_marker


@dataclass(slots=True)
class ProbeResult:
    """What decoding a recorded file found."""

    kind: str
    """``video`` or ``audio``."""
    frames: int = 0
    """Frames (or audio packets' frames) that decoded."""
    duration_s: float = 0.0
    """End time of the last decoded frame: how far the file plays."""
    markers: list[int] = field(default_factory=list)
    """Marker indices read from video frames (synthetic media only)."""
    error: str | None = None
    """Why decoding stopped early, if it did."""


def probe_file(path: Path, read_markers: bool = False) -> ProbeResult:
    """Decode ``path``'s first stream to its end or first damage (blocking, CPU-heavy)."""
    with av.open(str(path)) as container:
        stream = container.streams[0]
        result = ProbeResult(kind=stream.type)
        try:
            for frame in container.decode(stream):
                if not isinstance(frame, av.VideoFrame | av.AudioFrame):
                    continue
                result.frames += 1
                if frame.pts is not None and frame.time_base is not None:
                    end = frame.pts + (frame.duration or 0)
                    result.duration_s = float(end * frame.time_base)
                if read_markers and isinstance(frame, av.VideoFrame):
                    result.markers.append(read_marker(frame.to_ndarray(format="rgb24")))
        except av.error.FFmpegError as exc:
            result.error = str(exc)
        return result
