"""Offline analysis of a video file: the report, landmarks JSON and an annotated video.

Everything here blocks (decoding, inference, encoding): call it from a CLI, a thread or a
process, never on an event loop.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
import cv2
import numpy as np

from media.analysis.draw import draw_analysis
from media.analysis.estimator import (
    EstimatorFactory,
    PoseEstimator,
    RgbImage,
    video_estimator,
)
from media.analysis.events import AnalysisUpdate
from media.analysis.landmarks import PoseResult
from media.analysis.library import ExerciseLibrary, default_library
from media.analysis.tracker import ExerciseTracker
from sessions.exceptions import ValidationError

logger = logging.getLogger(__name__)


class VideoReadError(ValidationError):
    """The video cannot be opened or decoded."""

    code = "unreadable_video"


def read_frames(path: Path) -> Iterator[tuple[float, RgbImage, float]]:
    """Yield (t_seconds, rgb, fps) for every frame; raise VideoReadError if unreadable."""
    try:
        container = av.open(str(path))
    except (OSError, av.error.FFmpegError) as exc:
        raise VideoReadError(f"cannot open video {path}: {_reason(exc)}") from exc
    with container:
        if not container.streams.video:
            raise VideoReadError(f"no video stream in {path}")
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 30)
        index = 0
        try:
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else index / fps
                yield t, cast(RgbImage, frame.to_ndarray(format="rgb24")), fps
                index += 1
        except av.error.FFmpegError as exc:
            raise VideoReadError(f"corrupt video {path}: {_reason(exc)}") from exc
        if index == 0:
            raise VideoReadError(f"no decodable frames in {path}")


def _reason(exc: BaseException) -> str:
    """A short reason: FFmpeg errors carry the file name and errno in str(), not needed."""
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(reason).splitlines()[0]


class _AnnotatedWriter:
    """H.264 (libx264, yuv420p) MP4 writer, MPEG-4 Part 2 when x264 is missing."""

    def __init__(self, path: Path, fps: float, width: int, height: int) -> None:
        self._container = av.open(str(path), mode="w")
        rate = Fraction(fps).limit_denominator(1001)
        try:
            self._stream = self._container.add_stream("libx264", rate=rate)
        except (av.error.FFmpegError, ValueError):
            self._stream = self._container.add_stream("mpeg4", rate=rate)
        # Even sizes: yuv420p needs them and some players refuse odd ones.
        self._stream.width, self._stream.height = width - width % 2, height - height % 2
        self._stream.pix_fmt = "yuv420p"

    def write(self, bgr: np.ndarray) -> None:
        """Encode one BGR frame."""
        bgr = bgr[: self._stream.height, : self._stream.width]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(bgr), format="bgr24")
        self._container.mux(self._stream.encode(frame))

    def write_annotated(
        self, rgb: RgbImage, pose: PoseResult | None, update: AnalysisUpdate
    ) -> None:
        """Draw the analysis onto a copy of ``rgb`` and encode it."""
        bgr = cast(RgbImage, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        draw_analysis(bgr, pose, update)
        self.write(bgr)

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        self._container.mux(self._stream.encode(None))
        self._container.close()


def analyze_video(
    path: str | Path,
    exercise: str,
    *,
    language: str = "en",
    targets: dict[str, Any] | None = None,
    landmarks_out: str | Path | None = None,
    annotated_out: str | Path | None = None,
    estimator_factory: EstimatorFactory = video_estimator,
    library: ExerciseLibrary | None = None,
) -> dict[str, Any]:
    """Analyse a video file and return the report (the ``analyze --json`` object)."""
    library = library or default_library()
    tracker = ExerciseTracker(library.get(exercise), language, targets, library)
    video = Path(path)
    annotated = Path(annotated_out) if annotated_out is not None else None
    rows, size = _analyse_frames(video, tracker, estimator_factory, annotated)
    if landmarks_out is not None:
        _write_landmarks(Path(landmarks_out), video, size, rows)
    return tracker.report()


def _analyse_frames(
    video: Path, tracker: ExerciseTracker, factory: EstimatorFactory, annotated: Path | None
) -> tuple[list[dict[str, Any]], tuple[int, int]]:
    """Feed every frame to ``tracker``; return the landmark rows and the frame size."""
    estimator: PoseEstimator | None = None
    writer: _AnnotatedWriter | None = None
    rows: list[dict[str, Any]] = []
    size = (0, 0)
    try:
        for t, rgb, fps in read_frames(video):
            size = (rgb.shape[1], rgb.shape[0])
            # Created after the first frame decoded: a bad file fails before the model loads.
            estimator = estimator or factory()
            pose = estimator.estimate(rgb, int(t * 1000))
            update = tracker.feed(t, pose)
            rows.append(_landmark_row(len(rows), t, pose))
            if annotated is not None:
                writer = writer or _AnnotatedWriter(annotated, fps, *size)
                writer.write_annotated(rgb, pose, update)
        tracker.finish()
    finally:
        if estimator is not None:
            estimator.close()
        if writer is not None:
            writer.close()
    return rows, size


def _landmark_row(index: int, t: float, pose: PoseResult | None) -> dict[str, Any]:
    if pose is None:
        return {"index": index, "t": round(t, 4), "landmarks": None}
    points = [
        [round(float(x), 2), round(float(y), 2), round(float(z), 2), round(float(v), 3)]
        for (x, y, z), v in zip(pose.image, pose.visibility, strict=True)
    ]
    return {"index": index, "t": round(t, 4), "landmarks": points}


def _write_landmarks(
    out: Path, video: Path, size: tuple[int, int], rows: list[dict[str, Any]]
) -> None:
    document = {
        "video": video.name,
        "width": size[0],
        "height": size[1],
        "format": "33 BlazePose landmarks per frame: [x_px, y_px, z_px, visibility]",
        "frames": rows,
    }
    out.write_text(json.dumps(document), encoding="utf-8")
