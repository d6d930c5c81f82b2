"""Pose estimator interface and the MediaPipe BlazePose backend.

One estimator serves one stream: in video mode it keeps tracking state between frames,
and it is not thread-safe, so each stream's estimator is used by one worker at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from media.analysis.landmarks import LANDMARK_COUNT, PoseResult

logger = logging.getLogger(__name__)

RgbImage = npt.NDArray[np.uint8]


class PoseEstimator(Protocol):
    """Anything that finds one person's 33 BlazePose landmarks in an RGB image."""

    def estimate(self, rgb: RgbImage, timestamp_ms: int) -> PoseResult | None:
        """Return the pose in ``rgb`` (H x W x 3, uint8) or None when nobody is found."""
        ...

    def close(self) -> None:
        """Release the model; idempotent."""
        ...


EstimatorFactory = Callable[[], PoseEstimator]


class MediaPipePoseEstimator:
    """BlazePose *full* through ``mediapipe.solutions.pose`` (the model ships in the wheel)."""

    def __init__(self, *, static_image_mode: bool = False, min_confidence: float = 0.5) -> None:
        # Imported here: loading mediapipe takes about a second and pulls in TensorFlow Lite,
        # which callers that only need the library or the rep counter should not pay for.
        import mediapipe as mp

        # model_complexity=1 is the only model inside the 0.10.21 wheel; 0 and 2 would try
        # to download theirs and fail on an offline host.
        self._pose: Any = mp.solutions.pose.Pose(
            static_image_mode=static_image_mode,
            model_complexity=1,
            smooth_landmarks=True,
            enable_segmentation=False,
            min_detection_confidence=min_confidence,
            min_tracking_confidence=min_confidence,
        )
        self._closed = False

    def estimate(self, rgb: RgbImage, timestamp_ms: int) -> PoseResult | None:
        """Return the pose in ``rgb``; the legacy graph keeps its own clock, so ts is unused."""
        if self._closed:
            raise RuntimeError("estimator is closed")
        height, width = rgb.shape[:2]
        output = self._pose.process(rgb)
        if output.pose_landmarks is None:
            return None
        raw = output.pose_landmarks.landmark
        image = np.array([[p.x * width, p.y * height, p.z * width] for p in raw], np.float64)
        visibility = np.array([p.visibility for p in raw], dtype=np.float64)
        world = None
        if output.pose_world_landmarks is not None:
            world = np.array(
                [[p.x, p.y, p.z] for p in output.pose_world_landmarks.landmark], np.float64
            )
        if image.shape[0] != LANDMARK_COUNT:
            logger.warning("estimator returned %d landmarks, expected 33", image.shape[0])
            return None
        return PoseResult(image, visibility, world, width, height)

    def close(self) -> None:
        """Release the MediaPipe graph; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._pose.close()


def video_estimator() -> PoseEstimator:
    """Return a BlazePose estimator in video (tracking) mode, for one stream or file."""
    return MediaPipePoseEstimator(static_image_mode=False)


def image_estimator() -> PoseEstimator:
    """Return a BlazePose estimator for unrelated still images."""
    return MediaPipePoseEstimator(static_image_mode=True)
