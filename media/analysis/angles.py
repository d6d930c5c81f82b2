"""Joint and segment angles measured from a pose, per the library's AngleSpec."""

from __future__ import annotations

import math

import numpy as np

from media.analysis.landmarks import FloatArray, PoseResult, landmark_by_name
from media.analysis.library import SIDED_NAMES, AngleSpec

MIN_VISIBILITY = 0.5
"""Landmarks less visible than this are treated as missing (BlazePose guesses them)."""
# How much more visible the other side must be before "auto" switches sides, so the
# measured side does not flicker between frames.
AUTO_SWITCH_MARGIN = 0.15


def joint_angle(a: FloatArray, b: FloatArray, c: FloatArray) -> float | None:
    """Return the angle ABC in degrees (0..180), or None when a segment has no length."""
    ba, bc = a - b, c - b
    norm = float(np.linalg.norm(ba) * np.linalg.norm(bc))
    if norm < 1e-9:
        return None
    cosine = float(np.dot(ba, bc)) / norm
    return math.degrees(math.acos(max(-1.0, min(1.0, cosine))))


def vertical_angle(bottom: FloatArray, top: FloatArray) -> float | None:
    """Return the angle in degrees between segment bottom->top and straight up (y down)."""
    up = np.zeros_like(bottom)
    up[1] = -1.0
    return joint_angle(bottom + up, bottom, top)


def sided(name: str, side: str) -> str:
    """Return the full landmark name: ``knee`` on ``left`` is ``left_knee``."""
    return f"{side}_{name}" if name in SIDED_NAMES else name


class AngleReader:
    """Measures one named angle; keeps the chosen side for ``auto`` between frames."""

    def __init__(self, spec: AngleSpec) -> None:
        self.spec = spec
        self._auto_side = "left"

    def measure(self, pose: PoseResult) -> float | None:
        """Return the angle in degrees for the spec's side mode, or None if not visible."""
        side = self.spec.side
        if side in ("left", "right"):
            return self.measure_side(pose, side)
        if side == "mid":
            return self._measure_mid(pose)
        if side == "auto":
            return self.measure_side(pose, self._pick_side(pose))
        both = (self.measure_side(pose, "left"), self.measure_side(pose, "right"))
        values = [v for v in both if v is not None]
        if not values:
            return None
        if side == "min":
            return min(values)
        if side == "max":
            return max(values)
        return sum(values) / len(values)

    def measure_side(self, pose: PoseResult, side: str) -> float | None:
        """Return the angle on ``side`` (left/right), or None if a point is not visible."""
        points = []
        for name in self.spec.points:
            index = landmark_by_name(sided(name, side))
            if pose.visibility[index] < MIN_VISIBILITY:
                return None
            points.append(self._coords(pose, index))
        if any(p is None for p in points):
            return None
        return self._angle([p for p in points if p is not None])

    def _measure_mid(self, pose: PoseResult) -> float | None:
        points = []
        for name in self.spec.points:
            pair = [landmark_by_name(sided(name, s)) for s in ("left", "right")]
            if min(pose.visibility[i] for i in pair) < MIN_VISIBILITY:
                return None
            coords = [self._coords(pose, i) for i in pair]
            if coords[0] is None or coords[1] is None:
                return None
            points.append((coords[0] + coords[1]) / 2)
        return self._angle(points)

    def _coords(self, pose: PoseResult, index: int) -> FloatArray | None:
        if self.spec.space == "world":
            return None if pose.world is None else pose.world[index]
        return pose.image[index, :2]

    def _angle(self, points: list[FloatArray]) -> float | None:
        if self.spec.kind == "joint":
            return joint_angle(points[0], points[1], points[2])
        return vertical_angle(points[0], points[1])

    def _pick_side(self, pose: PoseResult) -> str:
        scores = {}
        for side in ("left", "right"):
            indices = [landmark_by_name(sided(n, side)) for n in self.spec.points]
            scores[side] = min(float(pose.visibility[i]) for i in indices)
        other = "right" if self._auto_side == "left" else "left"
        if scores[other] > scores[self._auto_side] + AUTO_SWITCH_MARGIN:
            self._auto_side = other
        return self._auto_side
