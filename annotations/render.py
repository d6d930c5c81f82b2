"""Draw marks on a still at full resolution and encode it as PNG (the freeze-frame attachment).

Sizes are normalised like the marks: line widths and font sizes scale with the frame's
height. Anchored marks are drawn where the tracker last saw them, through their homography,
and left out while hidden. Text uses OpenCV's Hershey font, which has ASCII glyphs only;
other characters are drawn as ``?`` (the label's text stays intact in the log).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable, Mapping
from typing import Any

import cv2
import numpy as np

from annotations.events import Anchor, Mark
from annotations.geometry import FloatArray, apply_homography, box_corners
from annotations.messages import Arrow, Ellipse, Rectangle, Stroke, TextLabel
from annotations.tracking import Image, own_reformat
from sessions.exceptions import ValidationError

#: Points along an ellipse's outline: smooth at 4K, cheap everywhere.
ELLIPSE_SEGMENTS = 96
#: Height of Hershey Simplex capitals at fontScale 1, in pixels, to turn font_size into a scale.
HERSHEY_CAP_PX = 22.0


def render_marks(
    frame: Any, marks: Iterable[Mark], anchors: Mapping[str, Anchor] | None = None
) -> Image:
    """Return a BGR copy of ``frame`` (ndarray or av.VideoFrame) with ``marks`` drawn on it."""
    image = to_bgr(frame).copy()
    anchors = anchors or {}
    for mark in marks:
        anchor = anchors.get(mark.mark_id)
        if anchor is not None and not anchor.visible:
            continue
        matrix = np.asarray(anchor.homography).reshape(3, 3) if anchor else np.eye(3)
        _draw(image, mark, matrix)
    return image


def render_png(
    frame: Any, marks: Iterable[Mark], anchors: Mapping[str, Anchor] | None = None
) -> bytes:
    """Return the PNG bytes of ``frame`` with ``marks`` drawn on it."""
    ok, encoded = cv2.imencode(".png", render_marks(frame, marks, anchors))
    if not ok:
        raise ValidationError("the still could not be encoded as PNG")
    return bytes(encoded.tobytes())


async def render_png_async(
    frame: Any, marks: Iterable[Mark], anchors: Mapping[str, Anchor] | None = None
) -> bytes:
    """Render and encode in a worker thread, off the event loop."""
    return await asyncio.to_thread(render_png, frame, list(marks), dict(anchors or {}))


def to_bgr(frame: Any) -> Image:
    """Return a frame as a BGR ndarray (gray and BGRA arrays are converted too)."""
    if not isinstance(frame, np.ndarray):
        return own_reformat(frame, "bgr24")
    if frame.ndim == 2:
        return np.asarray(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    if frame.shape[2] == 4:
        return np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR), dtype=np.uint8)
    return frame


def _draw(image: Image, mark: Mark, matrix: FloatArray) -> None:
    """Draw one mark, mapped through ``matrix`` (normalised coordinates)."""
    shape = mark.shape
    height, width = image.shape[:2]
    scale = np.array([width, height], dtype=np.float64)
    colour = _bgr(shape.colour)
    if isinstance(shape, TextLabel):
        _draw_text(image, shape, apply_homography(matrix, [shape.position])[0] * scale, colour)
        return
    thickness = max(1, round(shape.width * height))
    if isinstance(shape, Arrow):
        ends = apply_homography(matrix, [shape.start, shape.to]) * scale
        _draw_arrow(image, ends, colour, thickness)
        return
    points, closed = _outline(shape)
    pixels = np.round(apply_homography(matrix, points) * scale).astype(np.int32)
    cv2.polylines(image, [pixels.reshape(-1, 1, 2)], closed, colour, thickness, cv2.LINE_AA)


def _outline(shape: Stroke | Ellipse | Rectangle) -> tuple[list[tuple[float, float]], bool]:
    """Return a shape's outline as normalised points, and whether it is closed."""
    if isinstance(shape, Stroke):
        return [(x, y) for x, y in shape.points], False
    if isinstance(shape, Rectangle):
        return box_corners(shape.box), True
    (left, top), (right, bottom) = shape.box.corners()
    cx, cy, rx, ry = (left + right) / 2, (top + bottom) / 2, (right - left) / 2, (bottom - top) / 2
    angles = np.linspace(0.0, 2 * math.pi, ELLIPSE_SEGMENTS, endpoint=False)
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles], True


def _draw_arrow(image: Image, ends: FloatArray, colour: tuple[int, int, int], px: int) -> None:
    """Draw an arrow whose head is long enough to read at any line width."""
    p0 = (round(float(ends[0][0])), round(float(ends[0][1])))
    p1 = (round(float(ends[1][0])), round(float(ends[1][1])))
    length = max(1.0, float(np.linalg.norm(ends[1] - ends[0])))
    tip = min(0.5, max(6.0 * px, 0.02 * image.shape[0]) / length)
    cv2.arrowedLine(image, p0, p1, colour, px, cv2.LINE_AA, tipLength=tip)


def _draw_text(
    image: Image, label: TextLabel, origin: FloatArray, colour: tuple[int, int, int]
) -> None:
    """Draw a label with its baseline starting at ``origin``."""
    text = "".join(c if 32 <= ord(c) < 127 else "?" for c in label.text)
    scale = label.font_size * image.shape[0] / HERSHEY_CAP_PX
    thickness = max(1, round(scale * 1.5))
    position = (round(float(origin[0])), round(float(origin[1])))
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(image, text, position, font, scale, colour, thickness, cv2.LINE_AA)


def _bgr(colour: str) -> tuple[int, int, int]:
    """Turn ``#RRGGBB`` into OpenCV's (B, G, R)."""
    value = int(colour[1:], 16)
    return (value & 0xFF, (value >> 8) & 0xFF, (value >> 16) & 0xFF)
