"""Offline analysis of the shared test media: reps, landmark accuracy, outputs, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from media.analysis.offline import VideoReadError, analyze_video
from tests.conftest import REPO_ROOT, media_file

pytestmark = pytest.mark.media

REPORT_KEYS = {"exercise", "reps", "reps_detail", "form_issues", "frames", "frames_with_pose"}
REP_KEYS = {"start_s", "end_s", "min_angle", "max_angle", "issues"}


@pytest.fixture(scope="module")
def squat_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, Path]:
    """Analyse pose_squats.mp4 once with every output."""
    out = tmp_path_factory.mktemp("squat")
    landmarks, annotated = out / "landmarks.json", out / "annotated.mp4"
    report = analyze_video(
        media_file("pose_squats.mp4"),
        "squat",
        landmarks_out=landmarks,
        annotated_out=annotated,
    )
    return report, landmarks, annotated


def test_squat_clip_counts_two_reps(squat_run: tuple[dict[str, Any], Path, Path]) -> None:
    report, _, _ = squat_run
    assert set(report) >= REPORT_KEYS
    assert report["exercise"] == "squat"
    assert report["reps"] == 2  # the third descent ends mid-rise and must not count
    assert report["frames"] == 65
    assert report["frames_with_pose"] == 65
    first, second = report["reps_detail"]
    assert set(first) >= REP_KEYS
    # Knee-angle minima are near frames 10 and 34 (5 fps): 2.0 s and 6.8 s.
    assert first["start_s"] < 2.0 < first["end_s"]
    assert second["start_s"] < 6.8 < second["end_s"]
    assert first["end_s"] <= second["start_s"]
    for rep in (first, second):
        assert 80 <= rep["min_angle"] <= 110
        assert rep["max_angle"] >= 155
    for issue in report["form_issues"]:
        assert set(issue) == {"code", "count", "first_at_s"}


def test_landmarks_match_the_reference(squat_run: tuple[dict[str, Any], Path, Path]) -> None:
    _, landmarks, _ = squat_run
    document = json.loads(landmarks.read_text())
    reference = np.array(json.loads(media_file("pose_squats.full.json").read_text()))
    frames = document["frames"]
    assert len(frames) == len(reference) == 65
    ours = np.array([[p[:2] for p in f["landmarks"]] for f in frames])
    error = np.linalg.norm(ours - reference[:, :, :2], axis=2)
    assert error.mean() <= 8.0
    assert document["width"] == 720
    assert document["height"] == 1280


def test_annotated_video_opens_in_a_player(squat_run: tuple[dict[str, Any], Path, Path]) -> None:
    _, _, annotated = squat_run
    with av.open(str(annotated)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name in {"h264", "mpeg4"}
        frames = list(container.decode(stream))
    assert len(frames) == 65
    assert (frames[0].width, frames[0].height) == (720, 1280)
    with av.open(str(media_file("pose_squats.mp4"))) as source:
        original = next(source.decode(video=0))
    drawn = frames[0].to_ndarray(format="rgb24").astype(int)
    plain = original.to_ndarray(format="rgb24").astype(int)
    # Bones are drawn in (80, 220, 80): count pixels near that green in both frames.
    bone = np.array([80, 220, 80])
    green_drawn = int((np.abs(drawn - bone).max(axis=2) < 40).sum())
    green_plain = int((np.abs(plain - bone).max(axis=2) < 40).sum())
    assert green_drawn > green_plain + 2000


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "media.analysis", "analyze", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_json_output() -> None:
    result = _cli(str(media_file("pose_squats.mp4")), "--exercise", "squat", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) >= REPORT_KEYS
    assert report["reps"] == 2


def test_cli_unknown_exercise_lists_known_ones() -> None:
    result = _cli(str(media_file("pose_squats.mp4")), "--exercise", "burpee")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    for name in ("squat", "shoulder_abduction", "lunge", "elbow_flexion"):
        assert name in lines[0]


@pytest.mark.parametrize("kind", ["garbage", "truncated", "missing", "text"])
def test_cli_unreadable_video_exits_2_with_one_line(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "clip.mp4"
    if kind == "garbage":
        path.write_bytes(bytes(range(256)) * 40)
    elif kind == "truncated":
        path.write_bytes(media_file("pose_squats.mp4").read_bytes()[:100_000])
    elif kind == "text":
        path.write_text("not a video\n")
    result = _cli(str(path), "--exercise", "squat", "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(path) in lines[0]


def test_corrupted_packets_raise_read_error(tmp_path: Path) -> None:
    data = bytearray(media_file("pose_squats.mp4").read_bytes())
    rng = np.random.default_rng(1)
    for index in rng.integers(5000, len(data) - 5000, size=2000):
        data[index] = int(rng.integers(0, 256))
    path = tmp_path / "corrupt.mp4"
    path.write_bytes(bytes(data))
    with pytest.raises(VideoReadError):
        analyze_video(path, "squat")


def test_nobody_in_the_video(tmp_path: Path) -> None:
    path = tmp_path / "empty_room.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(30):
            image = np.full((240, 320, 3), 90 + i, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode(None))
    report = analyze_video(path, "squat")
    assert report["reps"] == 0
    assert report["frames"] == 30
    assert report["frames_with_pose"] == 0
    assert report["notices"] == ["no_person"]
