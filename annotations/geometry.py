"""Control points of each shape, and mapping them through a homography."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from annotations.messages import Arrow, Box, Ellipse, Rectangle, Shape, Stroke, TextLabel

FloatArray = npt.NDArray[np.float64]


def control_points(shape: Shape) -> list[tuple[float, float]]:
    """Return the points that define ``shape``: box shapes give their four corners, clockwise."""
    if isinstance(shape, Stroke):
        return [(x, y) for x, y in shape.points]
    if isinstance(shape, Arrow):
        return [shape.start, shape.to]
    if isinstance(shape, Ellipse | Rectangle):
        return box_corners(shape.box)
    if isinstance(shape, TextLabel):
        return [shape.position]
    raise TypeError(f"not a shape: {type(shape).__name__}")


def box_corners(box: Box) -> list[tuple[float, float]]:
    """Return the four corners of ``box`` clockwise from the top-left one."""
    (left, top), (right, bottom) = box.corners()
    return [(left, top), (right, top), (right, bottom), (left, bottom)]


def bounding_box(points: list[tuple[float, float]], pad: float = 0.0) -> Box:
    """Return the box around ``points`` grown by ``pad`` on each side, clipped to [0, 1]."""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return Box(
        x0=max(0.0, min(xs) - pad),
        y0=max(0.0, min(ys) - pad),
        x1=min(1.0, max(xs) + pad),
        y1=min(1.0, max(ys) + pad),
    )


def apply_homography(matrix: FloatArray, points: list[tuple[float, float]]) -> FloatArray:
    """Map ``points`` (N x 2) through the 3x3 ``matrix``; return an N x 2 array."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    ones = np.ones((pts.shape[0], 1))
    mapped = np.hstack([pts, ones]) @ matrix.T
    return np.asarray(mapped[:, :2] / mapped[:, 2:3], dtype=np.float64)
