"""Replay the timeline's annotation and analysis events over a track's frames, with OpenCV.

Annotation events are stored on the timeline as the annotation log emitted them
(``AnnotationEvent.to_wire()``: ``type`` and ``data``; a ``mark_added`` carries the mark
with its normalised shape). This module keeps the marks alive at a media time and draws
them; signaling may pass ``annotations.render`` instead through ``MarkDrawer`` so the
export looks exactly like the live view (media does not import annotations).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from media.recording.manifest import TimelineEvent, TimelineKind

Image = npt.NDArray[np.uint8]
MarkDrawer = Callable[[Image, list[dict[str, Any]]], Image]
#: How long an analysis event stays on screen, in seconds.
ANALYSIS_SHOWN_S = 2.0


class TimelineReplay:
    """The marks alive and the analysis messages showing at a media time, for one video."""

    def __init__(self, events: Iterable[TimelineEvent], producer_id: str) -> None:
        wanted = (TimelineKind.ANNOTATION, TimelineKind.ANALYSIS)
        self._events = sorted(
            (e for e in events if e.kind in wanted), key=lambda e: (e.media_s, e.seq)
        )
        self._producer_id = producer_id
        self._next = 0
        self.marks: dict[str, dict[str, Any]] = {}
        self._analysis: list[TimelineEvent] = []

    def advance(self, media_s: float) -> None:
        """Apply every event up to ``media_s`` (calls must not go back in time)."""
        while self._next < len(self._events) and self._events[self._next].media_s <= media_s:
            self._apply(self._events[self._next])
            self._next += 1
        self._analysis = [e for e in self._analysis if media_s - e.media_s < ANALYSIS_SHOWN_S]

    def messages(self) -> list[str]:
        """Analysis messages to show now, oldest first."""
        return [_message(e.data) for e in self._analysis]

    def _apply(self, event: TimelineEvent) -> None:
        if event.kind is TimelineKind.ANALYSIS:
            self._analysis.append(event)
            return
        kind, data = event.data.get("type"), event.data.get("data", {})
        if kind == "mark_added":
            mark = data.get("mark", {})
            if mark.get("shape", {}).get("producer_id") in (None, self._producer_id):
                self.marks[mark.get("mark_id", str(event.seq))] = mark
        elif kind == "mark_removed":
            self.marks.pop(data.get("mark_id", ""), None)
        elif kind == "marks_cleared":
            for mark_id in data.get("mark_ids", []):
                self.marks.pop(mark_id, None)


def _message(data: dict[str, Any]) -> str:
    text = data.get("message") or data.get("text")
    if text:
        return str(text)
    return ", ".join(f"{k} {v}" for k, v in data.items() if not isinstance(v, dict | list))


def draw_marks(image: Image, marks: list[dict[str, Any]]) -> Image:
    """Draw marks (their JSON form) on a BGR image in place and return it."""
    height, width = image.shape[:2]
    for mark in marks:
        shape = mark.get("shape", {})
        colour = _bgr(str(shape.get("colour", "#ff3b30")))
        thickness = max(1, round(float(shape.get("width", 0.006)) * height))
        _draw_shape(image, shape, colour, thickness, (width, height))
    return image


def draw_messages(image: Image, messages: list[str]) -> Image:
    """Draw analysis messages as a banner at the bottom of a BGR image."""
    height = image.shape[0]
    scale = max(0.5, height / 720)
    for row, text in enumerate(reversed(messages)):
        y = int(height - (12 + row * 34) * scale)
        origin = (int(12 * scale), y)
        cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.8 * scale, (0, 0, 0), 4)
        cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.8 * scale, (255, 255, 255), 1)
    return image


def _draw_shape(
    image: Image,
    shape: dict[str, Any],
    colour: tuple[int, int, int],
    px: int,
    size: tuple[int, int],
) -> None:
    kind = shape.get("kind")

    def at(point: Any) -> tuple[int, int]:
        return round(float(point[0]) * size[0]), round(float(point[1]) * size[1])

    if kind == "stroke":
        points = np.array([at(p) for p in shape.get("points", [])], dtype=np.int32)
        cv2.polylines(image, [points], False, colour, px, cv2.LINE_AA)
    elif kind == "arrow":
        cv2.arrowedLine(image, at(shape["from"]), at(shape["to"]), colour, px, cv2.LINE_AA)
    elif kind in ("rectangle", "ellipse"):
        box = shape["box"]
        (x0, y0), (x1, y1) = at((box["x0"], box["y0"])), at((box["x1"], box["y1"]))
        if kind == "rectangle":
            cv2.rectangle(image, (x0, y0), (x1, y1), colour, px, cv2.LINE_AA)
        else:
            centre, axes = ((x0 + x1) // 2, (y0 + y1) // 2), (abs(x1 - x0) // 2, abs(y1 - y0) // 2)
            cv2.ellipse(image, centre, axes, 0, 0, 360, colour, px, cv2.LINE_AA)
    elif kind == "text":
        scale = float(shape.get("font_size", 0.04)) * size[1] / 22
        cv2.putText(
            image, str(shape.get("text", "")), at(shape["position"]),
            cv2.FONT_HERSHEY_SIMPLEX, scale, colour, max(1, round(scale * 2)), cv2.LINE_AA,
        )  # fmt: skip


def _bgr(colour: str) -> tuple[int, int, int]:
    value = int(colour.lstrip("#"), 16)
    return value & 0xFF, (value >> 8) & 0xFF, (value >> 16) & 0xFF
