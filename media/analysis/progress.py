"""A patient's progress across sessions, from the per-session summaries stored on tickets."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """What one session stored: ``StreamAnalyzer.summary()`` plus where and when."""

    session_id: str
    ended_at: str
    """ISO 8601 time the session ended (sorting key)."""
    exercises: dict[str, dict[str, Any]]
    """exercise name -> ExerciseTracker.summary()."""


def progress(sessions: Iterable[SessionSummary]) -> dict[str, Any]:
    """Return per exercise, oldest first, one point per session and the overall trend."""
    series: dict[str, list[dict[str, Any]]] = {}
    for session in sorted(sessions, key=lambda s: s.ended_at):
        for name, summary in session.exercises.items():
            series.setdefault(name, []).append(_point(session, summary))
    return {
        "exercises": {
            name: {"sessions": points, "trend": _trend(points)} for name, points in series.items()
        }
    }


def _point(session: SessionSummary, summary: dict[str, Any]) -> dict[str, Any]:
    motion = summary.get("range_of_motion") or {}
    target = summary.get("target") or {}
    issues = summary.get("issues") or []
    return {
        "session_id": session.session_id,
        "ended_at": session.ended_at,
        "reps": summary.get("reps", 0),
        "mean_range_deg": motion.get("mean_range_deg"),
        "best_range_deg": motion.get("best_range_deg"),
        "best_angle": target.get("best_angle"),
        "reps_at_target": target.get("reps_at_target", 0),
        "issues": sum(int(row.get("count", 0)) for row in issues),
    }


def _trend(points: list[dict[str, Any]]) -> dict[str, Any]:
    """Change from the first to the latest session (None where either lacks a figure)."""
    first, last = points[0], points[-1]

    def delta(key: str) -> float | None:
        a, b = first.get(key), last.get(key)
        return None if a is None or b is None else round(b - a, 1)

    return {
        "sessions": len(points),
        "total_reps": sum(p["reps"] for p in points),
        "range_change_deg": delta("mean_range_deg"),
        "issues_per_rep_first": _rate(first),
        "issues_per_rep_latest": _rate(last),
    }


def _rate(point: dict[str, Any]) -> float | None:
    reps = point["reps"]
    return round(point["issues"] / reps, 2) if reps else None
