"""The frame history a freeze takes its still from."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from annotations.frames import FrameHistory


def frame(pts: int, value: int = 0) -> av.VideoFrame:
    """A tiny frame at ``pts`` on a 90 kHz clock."""
    video = av.VideoFrame.from_ndarray(np.full((4, 4, 3), value, np.uint8), format="bgr24")
    video.pts, video.time_base = pts, Fraction(1, 90000)
    return video


def test_empty_history_has_no_frame() -> None:
    history = FrameHistory()
    assert history.newest() is None
    assert history.at(1.0) is None


def test_freeze_takes_the_frame_closest_to_the_experts_media_time() -> None:
    history = FrameHistory(size=5)
    frames = [frame(3000 * i, i) for i in range(8)]  # 30 fps
    for video in frames:
        history(video)
    assert history.newest() is frames[-1]
    assert history.at(4 / 30 + 0.004) is frames[4]
    assert history.at(0.0) is frames[3]  # older frames were dropped: the oldest kept one


def test_frames_without_timestamps_fall_back_to_the_newest() -> None:
    history = FrameHistory()
    untimed = av.VideoFrame.from_ndarray(np.zeros((4, 4, 3), np.uint8), format="bgr24")
    history(untimed)
    assert history.at(2.0) is untimed
    history.clear()
    assert history.newest() is None
