"""Form rules, cues, notices and targets, driven by synthetic landmark sequences."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from media.analysis.events import AnalysisUpdate
from media.analysis.progress import SessionSummary, progress
from media.analysis.synthetic import Figure, make_pose
from media.analysis.tracker import ExerciseTracker

FPS = 15.0


def reps_of(
    tracker: ExerciseTracker,
    reps: int,
    pose_at: Callable[[float], Figure],
    rep_s: float = 2.0,
    pause_s: float = 1.0,
    start: float = 0.0,
) -> list[AnalysisUpdate]:
    """Feed ``reps`` reps; ``pose_at(x)`` gives the figure at rep progress x in 0..1 (0: rest)."""
    updates = []
    period = rep_s + pause_s
    total = pause_s + reps * period
    for i in range(int(total * FPS) + 1):
        t = i / FPS
        phase = t - pause_s
        x = 0.0
        if phase >= 0 and phase % period < rep_s:
            x = (1 - math.cos(2 * math.pi * (phase % period) / rep_s)) / 2
        updates.append(tracker.feed(start + t, make_pose(pose_at(x))))
    return updates


def squat(
    bottom: float = 95.0, valgus: bool = False, **at_bottom: float
) -> Callable[[float], Figure]:
    """A squat from 178 to ``bottom`` degrees; ``at_bottom`` fields scale in with depth."""

    def pose_at(x: float) -> Figure:
        extra: dict[str, Any] = {k: v * x for k, v in at_bottom.items()}
        figure = Figure(knee_angle=178 - (178 - bottom) * x, knee_in=valgus)
        return replace(figure, **extra)

    return pose_at


def codes(tracker: ExerciseTracker) -> dict[str, int]:
    return {row["code"]: row["count"] for row in tracker.report()["form_issues"]}


def test_clean_squats_have_no_issues() -> None:
    tracker = ExerciseTracker("squat")
    reps_of(tracker, 3, squat())
    report = tracker.report()
    assert report["reps"] == 3
    assert report["form_issues"] == []
    assert all(rep["issues"] == [] for rep in report["reps_detail"])


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ({"valgus": True}, "knee_valgus"),
        ({"heel_up": 45.0}, "heel_lift"),
        ({"trunk_lean": 65.0}, "trunk_lean"),
    ],
)
def test_squat_fault_is_reported_per_rep(fault: dict[str, Any], code: str) -> None:
    tracker = ExerciseTracker("squat")
    reps_of(tracker, 2, squat(**fault))
    report = tracker.report()
    assert report["reps"] == 2
    assert codes(tracker) == {code: 2}
    assert [rep["issues"] for rep in report["reps_detail"]] == [[code], [code]]


def test_shallow_squat_counts_but_is_insufficient_depth() -> None:
    tracker = ExerciseTracker("squat")
    updates = reps_of(tracker, 2, squat(bottom=117.0))
    assert tracker.report()["reps"] == 2
    assert codes(tracker) == {"insufficient_depth": 2}
    done = [u for u in updates if u.rep is not None]
    assert [u.rep_issues for u in done] == [["insufficient_depth"], ["insufficient_depth"]]


def test_partial_squat_is_not_a_rep_but_is_cued() -> None:
    tracker = ExerciseTracker("squat", language="zh-CN")
    updates = reps_of(tracker, 1, squat(bottom=135.0))
    assert tracker.report()["reps"] == 0
    assert codes(tracker) == {"insufficient_depth": 1}
    cues = [u.cue for u in updates if u.cue is not None]
    assert [c.code for c in cues] == ["insufficient_depth"]
    assert cues[0].language == "zh-CN"
    assert "蹲" in cues[0].text


def raise_arms(
    left: float = 90.0, right: float = 90.0, **at_top: float
) -> Callable[[float], Figure]:
    def pose_at(x: float) -> Figure:
        extra: dict[str, Any] = {
            k: 178.0 - (178.0 - v) * x if k == "elbow_angle" else v * x for k, v in at_top.items()
        }
        return Figure(
            left_abduction=10 + (left - 10) * x, right_abduction=10 + (right - 10) * x, **extra
        )

    return pose_at


def test_clean_arm_raises() -> None:
    tracker = ExerciseTracker("shoulder_abduction")
    reps_of(tracker, 3, raise_arms())
    assert tracker.report()["reps"] == 3
    assert codes(tracker) == {}


@pytest.mark.parametrize(
    ("pose_at", "code"),
    [
        (raise_arms(right=50.0), "asymmetry"),
        (raise_arms(elbow_angle=110.0), "elbow_bend"),
        (raise_arms(trunk_lean=20.0), "trunk_side_bend"),
        (raise_arms(left=72.0, right=72.0), "insufficient_range"),
    ],
)
def test_shoulder_abduction_faults(pose_at: Callable[[float], Figure], code: str) -> None:
    tracker = ExerciseTracker("shoulder_abduction")
    reps_of(tracker, 2, pose_at)
    assert tracker.report()["reps"] == 2
    assert codes(tracker) == {code: 2}


def test_cues_are_rate_limited() -> None:
    tracker = ExerciseTracker("squat", language="en")
    updates = reps_of(tracker, 8, squat(valgus=True, trunk_lean=65.0), rep_s=2.0, pause_s=0.5)
    cues = [(u.t, u.cue.code) for u in updates if u.cue is not None]
    issue_frames = [u for u in updates if u.issues]
    assert len(issue_frames) > 8 * 5
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(cues)]
    assert all(gap >= 3.0 for gap in gaps)
    for code in {c for _, c in cues}:
        times = [t for t, c in cues if c == code]
        assert all(b - a >= 8.0 for a, b in itertools.pairwise(times))
    assert {c for _, c in cues} == {"knee_valgus", "trunk_lean"}


def test_nobody_in_frame_gives_no_person_notice_and_no_reps() -> None:
    tracker = ExerciseTracker("squat", language="zh-CN")
    updates = [tracker.feed(i / FPS, None) for i in range(int(5 * FPS))]
    assert all(u.notice is None for u in updates if u.t < 2.0)
    assert all(u.notice == "no_person" for u in updates if u.t >= 2.0)
    cues = [u.cue for u in updates if u.cue is not None]
    assert len(cues) == 1
    assert cues[0].code == "no_person"
    report = tracker.report()
    assert report["reps"] == 0
    assert report["frames"] == 75
    assert report["frames_with_pose"] == 0
    assert report["notices"] == ["no_person"]


def test_person_leaving_between_reps_keeps_count() -> None:
    tracker = ExerciseTracker("squat")
    first = reps_of(tracker, 2, squat())
    t0 = first[-1].t
    gone = [tracker.feed(t0 + i / FPS, None) for i in range(1, int(4 * FPS))]
    assert gone[-1].notice == "no_person"
    assert gone[-1].reps == 2
    reps_of(tracker, 2, squat(), start=t0 + 4.0)
    assert tracker.report()["reps"] == 4


def test_targets_progress() -> None:
    tracker = ExerciseTracker("squat", targets={"target_angle": 100, "reps": 2, "sets": 2})
    updates = reps_of(tracker, 3, squat(bottom=95.0))
    target = updates[-1].target
    assert target is not None
    assert target["reps_done"] == 3
    assert target["sets_done"] == 1
    assert target["reps_in_set"] == 1
    assert target["reps_target"] == 4
    assert target["complete"] is False
    assert target["reps_at_target"] == 3
    assert target["last_rep_reached_target"] is True
    assert 93 <= target["best_angle"] <= 100


def test_target_angle_not_reached() -> None:
    tracker = ExerciseTracker("squat", targets={"target_angle": 80})
    reps_of(tracker, 2, squat(bottom=100.0))
    summary = tracker.summary()
    assert summary["reps"] == 2
    assert summary["target"]["reps_at_target"] == 0
    assert summary["target"]["last_rep_reached_target"] is False
    assert summary["range_of_motion"]["mean_range_deg"] > 60


def test_update_carries_normalised_landmarks_and_angles() -> None:
    tracker = ExerciseTracker("squat")
    update = tracker.feed(0.0, make_pose(Figure(knee_angle=120)))
    assert update.landmarks is not None
    assert len(update.landmarks) == 33
    assert all(0.0 <= x <= 1.0 and 0.0 <= y <= 1.0 for x, y, _ in update.landmarks)
    assert update.angles["knee"] == pytest.approx(120.0, abs=0.2)
    wire = update.to_dict()
    assert wire["exercise"] == "squat"
    assert "received_at" not in wire
    assert wire["angles"]["knee"] == pytest.approx(120.0, abs=0.2)


def test_progress_across_sessions() -> None:
    sessions = []
    for day, bottom in ((3, 95.0), (1, 117.0), (2, 105.0)):
        tracker = ExerciseTracker("squat", targets={"target_angle": 100})
        reps_of(tracker, 2 + day, squat(bottom=bottom))
        sessions.append(
            SessionSummary(f"ses_{day}", f"2026-11-0{day}T10:00:00Z", {"squat": tracker.summary()})
        )
    result = progress(sessions)["exercises"]["squat"]
    assert [p["session_id"] for p in result["sessions"]] == ["ses_1", "ses_2", "ses_3"]
    assert [p["reps"] for p in result["sessions"]] == [3, 4, 5]
    assert result["trend"]["total_reps"] == 12
    assert result["trend"]["range_change_deg"] > 15  # deeper squats over time
    assert result["trend"]["issues_per_rep_first"] == 1.0  # every shallow rep flagged
    assert result["trend"]["issues_per_rep_latest"] == 0.0
    assert [p["reps_at_target"] for p in result["sessions"]] == [0, 0, 5]
