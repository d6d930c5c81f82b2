"""Anchored marks: follow a scene region through a producer's video with ORB + RANSAC.

Each anchor keeps the ORB descriptors of its region in the frame it was pinned on. Every
new frame is matched against those reference descriptors (not against the previous frame),
so errors do not accumulate and an anchor whose region comes back into view is found again
without any special recovery path. A homography fitted with RANSAC maps the reference
region into the frame; too few inliers, a degenerate fit or a region mostly outside the
frame means "lost" (``None``).

The work is CPU-bound: ``SceneTracker`` is synchronous and thread-safe, and
``AsyncSceneTracker`` runs it in a worker thread on the newest frame only.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from annotations.geometry import FloatArray
from annotations.messages import Box

logger = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]
Updates = dict[str, FloatArray | None]
"""anchor id -> normalised homography from the pinned frame to the current one, or None."""


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Tuning of the tracker; the defaults were measured on the tests' videos."""

    max_side: int = 640
    """Frames are scaled down to this longest side first: enough detail, bounded cost."""
    frame_features: int = 3000
    """ORB features detected in each new frame."""
    region_features: int = 800
    """ORB features kept from the pinned region."""
    ratio: float = 0.8
    """Lowe's ratio test: best match must be this much closer than the second best."""
    ransac_px: float = 3.0
    """RANSAC reprojection threshold, in pixels of the scaled frame."""
    min_inliers: int = 12
    """Fewer inliers than this means the region is not in view."""
    min_visible: float = 0.5
    """Lost when less than this fraction of the region's area is inside the frame."""
    max_scale_change: float = 4.0
    """Lost when the region's area changes more than this factor (a wrong fit)."""


@dataclass(slots=True)
class _Reference:
    """What an anchor remembers of the frame it was pinned on."""

    keypoints: FloatArray
    """N x 2 positions in the scaled reference frame."""
    descriptors: Image
    """N x 32 ORB descriptors."""
    corners: FloatArray
    """4 x 2 corners of the region in the scaled reference frame."""
    size: tuple[int, int]
    """(width, height) of the scaled reference frame."""


class SceneTracker:
    """Follows the anchored regions of one producer's video; synchronous, call from a thread."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._frame_orb = cv2.ORB.create(nfeatures=self.config.frame_features)
        self._region_orb = cv2.ORB.create(nfeatures=self.config.region_features)
        self._matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
        # Anchors are replaced, never mutated in place, so readers take a reference to the
        # dict without a lock. Writers hold _anchors_lock only for the copy (microseconds),
        # so the event loop never waits for feature detection in a tracking thread.
        self._anchors: dict[str, _Reference] = {}
        self._anchors_lock = threading.Lock()
        # Serialises feature detection, in case two threads share one tracker.
        self._compute_lock = threading.Lock()

    @property
    def anchor_ids(self) -> list[str]:
        """The anchors being followed (safe to call on the event loop: takes no lock)."""
        return list(self._anchors)

    def pin(self, anchor_id: str, frame: Any, region: Box) -> bool:
        """Start following ``region`` of ``frame``; False when it has too little texture."""
        gray = to_gray(frame, self.config.max_side)
        height, width = gray.shape
        corners = _box_pixels(region, width, height)
        mask = np.zeros_like(gray)
        cv2.fillConvexPoly(mask, corners.astype(np.int32), (255,))
        with self._compute_lock:
            keypoints, descriptors = self._region_orb.detectAndCompute(gray, mask)
        if descriptors is None or len(keypoints) < self.config.min_inliers:
            logger.info("anchor %s: region has too little texture to follow", anchor_id)
            return False
        points = np.array([kp.pt for kp in keypoints], dtype=np.float64)
        reference = _Reference(points, np.asarray(descriptors, np.uint8), corners, (width, height))
        with self._anchors_lock:
            self._anchors = {**self._anchors, anchor_id: reference}
        return True

    def unpin(self, anchor_id: str) -> None:
        """Stop following an anchor; unknown ids are ignored."""
        with self._anchors_lock:
            self._anchors = {k: v for k, v in self._anchors.items() if k != anchor_id}

    def update(self, frame: Any) -> Updates:
        """Locate every anchor in ``frame``: a normalised homography, or None when lost."""
        anchors = self._anchors
        if not anchors:
            return {}
        gray = to_gray(frame, self.config.max_side)
        with self._compute_lock:
            # The stubs say mask is required; OpenCV takes None for "the whole image".
            keypoints, descriptors = self._frame_orb.detectAndCompute(gray, None)  # type: ignore[call-overload]
        if descriptors is None or len(keypoints) < self.config.min_inliers:
            return dict.fromkeys(anchors)
        points = np.array([kp.pt for kp in keypoints], dtype=np.float64)
        size = (gray.shape[1], gray.shape[0])
        return {
            anchor_id: self._locate(reference, points, descriptors, size)
            for anchor_id, reference in anchors.items()
        }

    def _locate(
        self, ref: _Reference, points: FloatArray, descriptors: Image, size: tuple[int, int]
    ) -> FloatArray | None:
        """Fit the reference-to-frame homography of one anchor; None when it is not in view."""
        src, dst = self._match(ref, points, descriptors)
        if len(src) < self.config.min_inliers:
            return None
        fitted, inliers = cv2.findHomography(src, dst, cv2.RANSAC, self.config.ransac_px)
        if fitted is None or int(inliers.sum()) < self.config.min_inliers:
            return None
        homography = np.asarray(fitted, dtype=np.float64)
        if not self._plausible(homography, ref.corners, size):
            return None
        return _normalise(homography, ref.size, size)

    def _match(
        self, ref: _Reference, points: FloatArray, descriptors: Image
    ) -> tuple[FloatArray, FloatArray]:
        """Return matched reference and frame points that pass the ratio test."""
        pairs = self._matcher.knnMatch(ref.descriptors, descriptors, k=2)
        good = [
            p[0] for p in pairs if len(p) == 2 and p[0].distance < self.config.ratio * p[1].distance
        ]
        src = np.array([ref.keypoints[m.queryIdx] for m in good], dtype=np.float64)
        dst = np.array([points[m.trainIdx] for m in good], dtype=np.float64)
        return src.reshape(-1, 2), dst.reshape(-1, 2)

    def _plausible(
        self, homography: FloatArray, corners: FloatArray, size: tuple[int, int]
    ) -> bool:
        """Reject fits that fold the region, blow it up, or put it mostly out of the frame."""
        mapped = cv2.perspectiveTransform(corners.reshape(-1, 1, 2), homography).reshape(-1, 2)
        if not cv2.isContourConvex(mapped.astype(np.float32)):
            return False
        before = cv2.contourArea(corners.astype(np.float32))
        after = cv2.contourArea(mapped.astype(np.float32))
        limit = self.config.max_scale_change
        if before <= 0 or not 1 / limit <= after / before <= limit:
            return False
        frame = np.array([[0, 0], [size[0], 0], [size[0], size[1]], [0, size[1]]], np.float32)
        inside, _ = cv2.intersectConvexConvex(mapped.astype(np.float32), frame)
        return bool(inside >= self.config.min_visible * after)


class AsyncSceneTracker:
    """Runs a SceneTracker in a worker thread on the newest frame only, off the event loop."""

    def __init__(
        self,
        tracker: SceneTracker,
        on_update: Callable[[Updates, float | None], None],
    ) -> None:
        self.tracker = tracker
        self.frames_skipped = 0
        self._on_update = on_update
        self._pending: tuple[Any, float | None] | None = None
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def start(self) -> None:
        """Start the worker task (call on the event loop)."""
        if self._task is None and not self._closed:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def offer(self, frame: Any, media_time_s: float | None = None) -> None:
        """Hand in a frame; a frame not yet picked up is replaced (newest-frame-only)."""
        if self._closed or not self.tracker.anchor_ids:
            return
        if self._pending is not None:
            self.frames_skipped += 1
        if media_time_s is None:
            media_time_s = frame_media_time(frame)
        self._pending = (frame, media_time_s)
        self._wakeup.set()

    async def pin(self, anchor_id: str, frame: Any, region: Box) -> bool:
        """Start following ``region`` of ``frame`` (feature detection runs in a thread)."""
        return await asyncio.to_thread(self.tracker.pin, anchor_id, frame, region)

    def unpin(self, anchor_id: str) -> None:
        """Stop following an anchor."""
        self.tracker.unpin(anchor_id)

    async def close(self) -> None:
        """Stop the worker and wait for it; idempotent."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        """Take the newest frame, track it in a thread, report, repeat."""
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            if self._pending is None:
                continue
            frame, media_time_s = self._pending
            self._pending = None
            updates = await asyncio.to_thread(self.tracker.update, frame)
            if updates:
                self._on_update(updates, media_time_s)


def frame_media_time(frame: Any) -> float | None:
    """Return ``pts * time_base`` of an av.VideoFrame, or None when it has no timestamp."""
    pts = getattr(frame, "pts", None)
    time_base = getattr(frame, "time_base", None)
    if pts is None or time_base is None:
        return None
    return float(pts * time_base)


def to_gray(frame: Any, max_side: int) -> Image:
    """Return ``frame`` (BGR/gray ndarray or av.VideoFrame) as gray, longest side <= max_side."""
    if isinstance(frame, np.ndarray):
        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    else:
        gray = frame.to_ndarray(format="gray")
    scale = max_side / max(gray.shape[:2])
    if scale < 1.0:
        size = (round(gray.shape[1] * scale), round(gray.shape[0] * scale))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(gray, dtype=np.uint8)


def _box_pixels(region: Box, width: int, height: int) -> FloatArray:
    """Return the four corners of a normalised box in pixels, clockwise."""
    (left, top), (right, bottom) = region.corners()
    return np.array(
        [
            [left * width, top * height],
            [right * width, top * height],
            [right * width, bottom * height],
            [left * width, bottom * height],
        ],
        dtype=np.float64,
    )


def _normalise(
    homography: FloatArray, ref_size: tuple[int, int], size: tuple[int, int]
) -> FloatArray:
    """Turn a pixel homography into one between normalised coordinates."""
    to_ref = np.diag([ref_size[0], ref_size[1], 1.0])
    from_cur = np.diag([1.0 / size[0], 1.0 / size[1], 1.0])
    matrix = from_cur @ homography @ to_ref
    return np.asarray(matrix / matrix[2, 2], dtype=np.float64)
