"""Drawing the skeleton, angles, rep count and cue onto a frame (annotated exports)."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from media.analysis.angles import MIN_VISIBILITY
from media.analysis.events import AnalysisUpdate
from media.analysis.landmarks import SKELETON, PoseResult

BgrImage = npt.NDArray[np.uint8]
_BONE = (80, 220, 80)
_JOINT = (255, 255, 255)
_TEXT = (255, 255, 255)
_CUE = (40, 160, 255)


def draw_analysis(image: BgrImage, pose: PoseResult | None, update: AnalysisUpdate) -> None:
    """Draw the pose and the update's figures onto ``image`` (BGR, in place)."""
    scale = max(image.shape[:2]) / 720.0
    if pose is not None:
        _draw_skeleton(image, pose, scale)
    lines = [f"{update.exercise}  reps {update.reps}  ({update.phase})"]
    lines += [f"{name} {value:.0f} deg" for name, value in update.angles.items()]
    for row, text in enumerate(lines):
        _put(image, text, row, scale, _TEXT)
    message = update.cue.code if update.cue else (update.issues[0] if update.issues else None)
    if update.notice:
        message = update.notice
    if message:
        # Cue codes, not texts: OpenCV's Hershey fonts cannot draw Chinese.
        _put(image, message, len(lines) + 1, scale, _CUE)


def _draw_skeleton(image: BgrImage, pose: PoseResult, scale: float) -> None:
    points = pose.image[:, :2] * (image.shape[1] / pose.width)
    seen = pose.visibility >= MIN_VISIBILITY
    thickness = max(1, round(3 * scale))
    for a, b in SKELETON:
        if seen[a] and seen[b]:
            pa = (int(points[a, 0]), int(points[a, 1]))
            pb = (int(points[b, 0]), int(points[b, 1]))
            cv2.line(image, pa, pb, _BONE, thickness, cv2.LINE_AA)
    for index in np.flatnonzero(seen):
        center = (int(points[index, 0]), int(points[index, 1]))
        cv2.circle(image, center, thickness + 1, _JOINT, -1, cv2.LINE_AA)


def _put(image: BgrImage, text: str, row: int, scale: float, color: tuple[int, int, int]) -> None:
    size = 0.7 * scale
    y = int((row + 1) * 30 * scale)
    origin = (int(10 * scale), y)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, size, (0, 0, 0), 4, cv2.LINE_AA)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, size, color, 1, cv2.LINE_AA)
