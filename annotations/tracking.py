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
from av.video.reformatter import VideoReformatter

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
    frame_features: int = 2000
    """ORB features detected over a whole frame, to find a lost region again."""
    region_features: int = 500
    """ORB features kept from the pinned region."""
    window_features: int = 1000
    """ORB features detected in the window around an anchor's last position."""
    ratio: float = 0.8
    """Lowe's ratio test: best match must be this much closer than the second best."""
    ransac_px: float = 3.0
    """RANSAC reprojection threshold, in pixels of the scaled frame."""
    min_inliers: int = 12
    """Fewer inliers than this means the region is not in view."""
    min_region_features: int = 40
    """A region with fewer features than this is grown, or cannot be pinned."""
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
        self._window_orb = cv2.ORB.create(nfeatures=self.config.window_features)
        self._matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
        # Anchors are replaced, never mutated in place, so readers take a reference to the
        # dict without a lock. Writers hold _anchors_lock only for the copy (microseconds),
        # so the event loop never waits for feature detection in a tracking thread.
        self._anchors: dict[str, _Reference] = {}
        self._anchors_lock = threading.Lock()
        # Serialises feature detection, in case two threads share one tracker.
        self._compute_lock = threading.Lock()
        # Where each anchor was last found (pixel homography); only update() touches it.
        self._last: dict[str, FloatArray] = {}

    @property
    def anchor_ids(self) -> list[str]:
        """The anchors being followed (safe to call on the event loop: takes no lock)."""
        return list(self._anchors)

    def pin(self, anchor_id: str, frame: Any, region: Box) -> bool:
        """Start following ``region`` of ``frame``; False when it has too little texture.

        A region too plain to follow (a smooth housing, a shadow) is grown around its
        centre, up to twice, so that the scene around the mark carries it.
        """
        gray = to_gray(frame, self.config.max_side)
        for _ in range(3):
            reference = self._learn(gray, region)
            if reference is not None:
                break
            region = _grown(region, 2.0)
        else:
            logger.info("anchor %s: region has too little texture to follow", anchor_id)
            return False
        with self._anchors_lock:
            self._anchors = {**self._anchors, anchor_id: reference}
        self._last[anchor_id] = np.eye(3)  # first look for it where it was pinned
        return True

    def _learn(self, gray: Image, region: Box) -> _Reference | None:
        """Detect the region's features; None when there are too few to follow."""
        height, width = gray.shape
        corners = _box_pixels(region, width, height)
        mask = np.zeros_like(gray)
        cv2.fillConvexPoly(mask, corners.astype(np.int32), (255,))
        with self._compute_lock:
            keypoints, descriptors = self._region_orb.detectAndCompute(gray, mask)
        if descriptors is None or len(keypoints) < self.config.min_region_features:
            return None
        points = np.array([kp.pt for kp in keypoints], dtype=np.float64)
        return _Reference(points, np.asarray(descriptors, np.uint8), corners, (width, height))

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
        whole = _LazyFeatures(self._frame_orb, self._compute_lock, gray)
        updates: Updates = {}
        for anchor_id, reference in anchors.items():
            fitted = self._locate(anchor_id, reference, gray, whole)
            if fitted is None:
                self._last.pop(anchor_id, None)
                updates[anchor_id] = None
            else:
                self._last[anchor_id] = fitted
                updates[anchor_id] = _normalise(fitted, reference.size, _size(gray))
        for gone in set(self._last) - set(anchors):
            self._last.pop(gone, None)
        return updates

    def _locate(
        self, anchor_id: str, ref: _Reference, gray: Image, whole: _LazyFeatures
    ) -> FloatArray | None:
        """Fit the reference-to-frame pixel homography of one anchor, or None.

        Near the last known position first: features detected in that window alone are
        dense enough for a small region, which the whole frame's strongest features may
        miss. When that fails (or the anchor was lost), over the whole frame.
        """
        last = self._last.get(anchor_id)
        if last is not None:
            window = self._window(ref, last, gray)
            if window is not None:
                fitted = self._fit(ref, *self._features_in(gray, window), _size(gray))
                if fitted is not None:
                    return fitted
        points, descriptors = whole.get()
        return self._fit(ref, points, descriptors, _size(gray))

    def _window(
        self, ref: _Reference, last: FloatArray, gray: Image
    ) -> tuple[int, int, int, int] | None:
        """The frame window around where the region was last seen, or None if off-frame."""
        mapped = cv2.perspectiveTransform(ref.corners.reshape(-1, 1, 2), last).reshape(-1, 2)
        left, top = mapped.min(axis=0)
        right, bottom = mapped.max(axis=0)
        # Room for the motion since the last frame, plus ORB's border of 31 px.
        margin = max(right - left, bottom - top) * 0.5 + 40
        height, width = gray.shape
        x0, y0 = max(0, int(left - margin)), max(0, int(top - margin))
        x1, y1 = min(width, int(right + margin)), min(height, int(bottom + margin))
        if x1 - x0 < 64 or y1 - y0 < 64:
            return None
        return x0, y0, x1, y1

    def _features_in(
        self, gray: Image, window: tuple[int, int, int, int]
    ) -> tuple[FloatArray, Image | None]:
        """Detect features in a window of the frame; positions in frame pixels."""
        x0, y0, x1, y1 = window
        crop = np.ascontiguousarray(gray[y0:y1, x0:x1])
        with self._compute_lock:
            keypoints, descriptors = self._window_orb.detectAndCompute(crop, None)  # type: ignore[call-overload]
        points = np.array([kp.pt for kp in keypoints], dtype=np.float64).reshape(-1, 2)
        return points + np.array([x0, y0], dtype=np.float64), descriptors

    def _fit(
        self,
        ref: _Reference,
        points: FloatArray,
        descriptors: Image | None,
        size: tuple[int, int],
    ) -> FloatArray | None:
        """Match, fit with RANSAC and check; return the pixel homography or None."""
        if descriptors is None or len(points) < self.config.min_inliers:
            return None
        src, dst = self._match(ref, points, descriptors)
        if len(src) < self.config.min_inliers:
            return None
        fitted, inliers = cv2.findHomography(src, dst, cv2.RANSAC, self.config.ransac_px)
        if fitted is None or int(inliers.sum()) < self.config.min_inliers:
            return None
        homography = np.asarray(fitted, dtype=np.float64)
        if not self._plausible(homography, ref.corners, size):
            return None
        return homography

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


def own_reformat(frame: Any, format: str) -> Image:
    """Convert an av.VideoFrame with a scaler of this call's own.

    ``frame.to_ndarray(format=...)`` uses a scaler cached on the frame, and one decoded
    frame reaches several observers (tracking, rendering, posture analysis) that convert
    it in different threads at once, which hangs or crashes libswscale.
    """
    converted = VideoReformatter().reformat(frame, format=format)
    return np.asarray(converted.to_ndarray(), dtype=np.uint8)


def to_gray(frame: Any, max_side: int) -> Image:
    """Return ``frame`` (BGR/gray ndarray or av.VideoFrame) as gray, longest side <= max_side."""
    if isinstance(frame, np.ndarray):
        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    else:
        gray = own_reformat(frame, "gray")
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


def _grown(region: Box, factor: float) -> Box:
    """The region scaled by ``factor`` around its centre, clipped to the frame."""
    (left, top), (right, bottom) = region.corners()
    cx, cy = (left + right) / 2, (top + bottom) / 2
    half_w, half_h = (right - left) * factor / 2, (bottom - top) * factor / 2
    return Box(
        x0=max(0.0, cx - half_w),
        y0=max(0.0, cy - half_h),
        x1=min(1.0, cx + half_w),
        y1=min(1.0, cy + half_h),
    )


def _normalise(
    homography: FloatArray, ref_size: tuple[int, int], size: tuple[int, int]
) -> FloatArray:
    """Turn a pixel homography into one between normalised coordinates."""
    to_ref = np.diag([ref_size[0], ref_size[1], 1.0])
    from_cur = np.diag([1.0 / size[0], 1.0 / size[1], 1.0])
    matrix = from_cur @ homography @ to_ref
    return np.asarray(matrix / matrix[2, 2], dtype=np.float64)


class _LazyFeatures:
    """A frame's whole-image features, detected once and only if some anchor needs them."""

    def __init__(self, orb: cv2.ORB, lock: threading.Lock, gray: Image) -> None:
        self._orb = orb
        self._lock = lock
        self._gray = gray
        self._result: tuple[FloatArray, Image | None] | None = None

    def get(self) -> tuple[FloatArray, Image | None]:
        """Return (positions, descriptors), detecting on first use."""
        if self._result is None:
            with self._lock:
                # The stubs say mask is required; OpenCV takes None for "the whole image".
                keypoints, descriptors = self._orb.detectAndCompute(self._gray, None)  # type: ignore[call-overload]
            points = np.array([kp.pt for kp in keypoints], dtype=np.float64).reshape(-1, 2)
            self._result = (points, descriptors)
        return self._result


def _size(gray: Image) -> tuple[int, int]:
    """(width, height) of an image."""
    return (gray.shape[1], gray.shape[0])
