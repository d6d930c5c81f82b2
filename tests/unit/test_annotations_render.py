"""Freeze-frame rendering: the PNG has the marks where they were drawn and nothing else."""

from __future__ import annotations

from typing import Any

import av
import cv2
import numpy as np
import pytest

from annotations.events import Anchor, Mark
from annotations.messages import Box, parse_command
from annotations.render import render_marks, render_png, render_png_async

W, H = 1280, 720
BACKGROUND = (60, 60, 60)
RED, GREEN, BLUE, YELLOW, WHITE = (0, 0, 255), (0, 255, 0), (255, 0, 0), (0, 255, 255), (255,) * 3


def mark(mark_id: str, **command: Any) -> Mark:
    """A stored mark made from a wire command."""
    shape = parse_command({"producer_id": "prd", "media_time_s": 2.0, **command})
    return Mark(mark_id=mark_id, author="par", identity="alice", seq=1, shape=shape)


MARKS = [
    mark("stroke", kind="stroke", points=[[0.1, 0.2], [0.4, 0.2]], colour="#ff0000", width=0.01),
    mark(
        "rect", kind="rectangle", box={"x0": 0.5, "y0": 0.5, "x1": 0.7, "y1": 0.8}, colour="#00ff00"
    ),
    mark(
        "ellipse",
        kind="ellipse",
        box={"x0": 0.1, "y0": 0.5, "x1": 0.3, "y1": 0.9},
        colour="#0000ff",
    ),
    mark("arrow", kind="arrow", colour="#ffff00", **{"from": [0.8, 0.1], "to": [0.95, 0.3]}),
    mark("text", kind="text", position=[0.5, 0.15], text="OK", font_size=0.06, colour="#ffffff"),
]


def still() -> np.ndarray:
    """A uniform 720p frame."""
    return np.full((H, W, 3), BACKGROUND, np.uint8)


def at(image: np.ndarray, x: float, y: float) -> tuple[int, ...]:
    """The BGR colour at normalised (x, y)."""
    return tuple(int(v) for v in image[round(y * H), round(x * W)])


def test_each_shape_is_drawn_in_its_colour_where_it_was_drawn() -> None:
    image = render_marks(still(), MARKS)
    assert at(image, 0.25, 0.2) == RED  # on the stroke
    assert at(image, 0.6, 0.5) == GREEN  # top edge of the rectangle
    assert at(image, 0.7, 0.65) == GREEN  # right edge
    assert at(image, 0.1, 0.7) == BLUE  # leftmost point of the ellipse
    assert at(image, 0.2, 0.9) == BLUE  # lowest point
    assert at(image, 0.875, 0.2) == YELLOW  # middle of the arrow's shaft
    # One of the arrow head's wings, 12 px back from the tip at 45 degrees to the shaft.
    tip = np.array([0.95 * W, 0.3 * H])
    wing = tip + 12 * np.array([-0.1414, -0.9899])
    assert tuple(int(v) for v in image[round(wing[1]), round(wing[0])]) == YELLOW


def test_background_stays_untouched_away_from_the_marks() -> None:
    image = render_marks(still(), MARKS)
    for x, y in [(0.25, 0.23), (0.6, 0.65), (0.2, 0.7), (0.1, 0.5), (0.05, 0.05), (0.875, 0.25)]:
        assert at(image, x, y) == BACKGROUND, (x, y)


def test_text_is_drawn_right_of_and_above_its_baseline_start() -> None:
    image = render_marks(still(), MARKS)
    white = np.all(image == WHITE, axis=2)
    ys, xs = np.nonzero(white)
    assert len(xs) > 100
    assert xs.min() >= 0.5 * W - 2
    assert ys.max() <= 0.15 * H + 3
    # The letters are about font_size (0.06 of 720 px = 43 px) tall.
    assert 35 <= ys.max() - ys.min() <= 50


def test_png_holds_exactly_the_rendered_pixels_at_full_resolution() -> None:
    png = render_png(still(), MARKS)
    assert png.startswith(b"\x89PNG")
    decoded = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (H, W, 3)
    assert np.array_equal(decoded, render_marks(still(), MARKS))


def test_input_frame_is_not_modified() -> None:
    frame = still()
    render_marks(frame, MARKS)
    assert np.all(frame == BACKGROUND)


def test_video_frame_renders_like_the_array() -> None:
    frame = av.VideoFrame.from_ndarray(still(), format="bgr24")
    assert np.array_equal(render_marks(frame, MARKS), render_marks(still(), MARKS))


def test_anchored_mark_is_drawn_where_the_tracker_sees_it_and_hidden_when_lost() -> None:
    rect = MARKS[1]
    shifted = [1.0, 0.0, -0.3, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    box = Box(x0=0.4, y0=0.4, x1=0.8, y1=0.9)
    anchor = Anchor(mark_id="rect", producer_id="prd", region=box, homography=shifted)
    image = render_marks(still(), [rect], {"rect": anchor})
    assert at(image, 0.3, 0.5) == GREEN  # the top edge moved 0.3 to the left
    assert at(image, 0.6, 0.5) == BACKGROUND
    lost = anchor.model_copy(update={"visible": False})
    assert np.all(render_marks(still(), [rect], {"rect": lost}) == BACKGROUND)


def test_non_ascii_text_is_drawn_with_placeholders() -> None:
    label = mark("t", kind="text", position=[0.1, 0.5], text="Schalter prüfen", colour="#ffffff")
    image = render_marks(still(), [label])
    assert np.any(np.all(image == WHITE, axis=2))


async def test_async_render_gives_the_same_png() -> None:
    assert await render_png_async(still(), MARKS) == render_png(still(), MARKS)


@pytest.mark.parametrize("channels", [1, 4])
def test_gray_and_bgra_frames_are_accepted(channels: int) -> None:
    frame = np.full((H, W, channels), 60, np.uint8).squeeze()
    image = render_marks(frame, MARKS[:1])
    assert image.shape == (H, W, 3)
    assert at(image, 0.25, 0.2) == RED


def test_decoded_yuv_frame_renders_at_its_full_resolution() -> None:
    # What a VP8/H.264 decoder hands over: planar YUV 4:2:0.
    frame = av.VideoFrame.from_ndarray(still(), format="bgr24").reformat(format="yuv420p")
    image = render_marks(frame, MARKS)
    assert image.shape == (H, W, 3)
    assert at(image, 0.25, 0.2) == RED
    assert all(abs(c - 60) <= 6 for c in at(image, 0.05, 0.05))  # limited-range YUV
