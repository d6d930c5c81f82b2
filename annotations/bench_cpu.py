"""CPU costs behind annotations: tracking anchors and rendering stills (``--mode``).

Both run in worker threads in the product; these figures say how fast an anchor can
follow the camera on one core and how long a freeze-frame attachment takes to make.
The video is generated: a textured scene seen by a camera that pans, rolls and zooms.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import time
from typing import Any

import cv2
import numpy as np

from annotations.events import Mark
from annotations.messages import Box, parse_command
from annotations.render import render_png
from annotations.tracking import Image, SceneTracker


def scene(seed: int = 1) -> Image:
    """A 1600x1200 BGR scene with blobs and edges at many scales."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur((rng.random((1200, 1600)) * 255).astype(np.uint8), (0, 0), 3)
    image = cv2.cvtColor(noise, cv2.COLOR_GRAY2BGR)
    for _ in range(400):
        x, y = (int(v) for v in rng.integers(0, [1600, 1200]))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.circle(image, (x, y), int(rng.integers(4, 40)), colour, -1)
    return np.ascontiguousarray(image, dtype=np.uint8)


def camera_view(image: Image, t: int, size: tuple[int, int]) -> Image:
    """The camera's frame t: it sways around the scene's centre, rolls and zooms a little."""
    width, height = size
    angle = 3.0 * math.sin(t / 15)
    zoom = (width / 640) * (1 + 0.1 * math.sin(t / 20))
    centre = (800 + 60 * math.sin(t / 10), 600 + 30 * math.sin(t / 13))
    matrix = cv2.getRotationMatrix2D(centre, angle, zoom)
    shift = np.array([width / 2 - centre[0], height / 2 - centre[1]])
    matrix = np.hstack([matrix[:, :2], matrix[:, 2:] + shift.reshape(2, 1)])
    return np.asarray(cv2.warpAffine(image, matrix, (width, height)), dtype=np.uint8)


def tracking_figures(frames: int, anchors: int, size: tuple[int, int]) -> dict[str, float]:
    """Time SceneTracker.update over generated frames with ``anchors`` pinned regions."""
    image = scene()
    video = [camera_view(image, t, size) for t in range(frames + 1)]
    tracker = SceneTracker()
    for n in range(anchors):
        x = 0.2 + 0.6 * n / max(1, anchors - 1)
        tracker.pin(f"a{n}", video[0], Box(x0=x - 0.08, y0=0.35, x1=x + 0.08, y1=0.55))
    seconds, visible = [], 0
    for frame in video[1:]:
        start = time.perf_counter()
        updates = tracker.update(frame)
        seconds.append(time.perf_counter() - start)
        visible += sum(u is not None for u in updates.values())
    label = f"track_{size[0]}x{size[1]}_{anchors}anchors"
    return {
        f"{label}_p50_ms": round(statistics.median(seconds) * 1000, 2),
        f"{label}_p95_ms": round(statistics.quantiles(seconds, n=20)[18] * 1000, 2),
        f"{label}_visible_ratio": round(visible / (frames * anchors), 3),
    }


def render_figures(repeats: int, marks: int, size: tuple[int, int]) -> dict[str, float]:
    """Time render_png of a still with ``marks`` strokes, rectangles and labels."""
    still = camera_view(scene(), 0, size)
    kinds: list[dict[str, Any]] = [
        {"kind": "stroke", "points": [[0.1 + 0.01 * k, 0.2 + 0.005 * k] for k in range(60)]},
        {"kind": "rectangle", "box": {"x0": 0.3, "y0": 0.3, "x1": 0.6, "y1": 0.7}},
        {"kind": "text", "position": [0.4, 0.2], "text": "check this connector"},
    ]
    shapes = [
        parse_command({**kinds[n % 3], "producer_id": "prd", "media_time_s": 0.0})
        for n in range(marks)
    ]
    drawn = [
        Mark(mark_id=f"m{n}", author="p", identity="i", seq=n, shape=shape)
        for n, shape in enumerate(shapes)
    ]
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        png = render_png(still, drawn)
        seconds.append(time.perf_counter() - start)
    label = f"render_png_{size[0]}x{size[1]}_{marks}marks"
    return {
        f"{label}_p50_ms": round(statistics.median(seconds) * 1000, 2),
        f"{label}_max_ms": round(max(seconds) * 1000, 2),
        f"{label}_kbytes": round(len(png) / 1024, 1),
    }


async def run_cpu(args: argparse.Namespace) -> dict[str, Any]:
    """Run the tracking or rendering measurements in a worker thread."""
    if args.mode == "tracking":
        figures: dict[str, Any] = {}
        for size, anchors in (((640, 480), 1), ((640, 480), 5), ((1280, 720), 1)):
            figures |= await asyncio.to_thread(tracking_figures, args.frames, anchors, size)
        return figures
    return await asyncio.to_thread(render_figures, 10, 20, (1280, 720))
