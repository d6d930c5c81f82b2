"""Sans-I/O analysis of one exercise: pose per frame in, AnalysisUpdate out, report at the end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from media.analysis.angles import AngleReader
from media.analysis.cues import CueGate
from media.analysis.events import (
    AnalysisUpdate,
    Cue,
    RepAbandoned,
    RepCompleted,
    RepEvent,
    RepStarted,
)
from media.analysis.landmarks import PoseResult
from media.analysis.library import Exercise, ExerciseLibrary, check_language, default_library
from media.analysis.reps import RepCounter
from media.analysis.rules import RuleEngine
from media.analysis.targets import TargetProgress, parse_targets

NO_PERSON = "no_person"
NO_PERSON_AFTER_S = 2.0
"""Seconds without anybody in the frame before the no_person notice."""


@dataclass(slots=True)
class _IssueTally:
    count: int
    first_at_s: float


class ExerciseTracker:
    """Turns a sequence of poses into rep counts, angles, issues and rate-limited cues."""

    def __init__(
        self,
        exercise: Exercise | str,
        language: str = "en",
        targets: dict[str, Any] | None = None,
        library: ExerciseLibrary | None = None,
        cue_gate: CueGate | None = None,
    ) -> None:
        self.library = library or default_library()
        self.exercise = self.library.get(exercise) if isinstance(exercise, str) else exercise
        self.language = check_language(language)
        self._readers = {name: AngleReader(s) for name, s in self.exercise.angles.items()}
        self.counter = RepCounter(self.exercise.reps)
        self.rules = RuleEngine(self.exercise, self._readers)
        self.progress = TargetProgress(parse_targets(targets), self.exercise.reps.direction)
        self._cues = cue_gate or CueGate()
        self.frames = 0
        self.frames_with_pose = 0
        self.reps: list[tuple[RepCompleted, list[str]]] = []
        self._tally: dict[str, _IssueTally] = {}
        self._rep_issues: list[str] = []
        self._extremes: dict[str, tuple[float, float]] = {}
        self._first_t: float | None = None
        self._last_t = 0.0
        self._last_pose_t: float | None = None
        self.notices: list[str] = []

    def feed(self, t: float, pose: PoseResult | None, received_at: float = 0.0) -> AnalysisUpdate:
        """Analyse one frame at media time ``t`` (seconds) and return the update to publish."""
        self._count_frame(t, pose)
        angles = self._measure(pose)
        events = self.counter.update(t, angles.get(self.exercise.reps.angle))
        check = self.rules.check_frame(t, pose, self.counter.phase, angles)
        for code in check.raised:
            self._note_issue(code, t)
        rep, rep_issues = self._handle_events(events)
        notice = self._notice(t, pose)
        update = AnalysisUpdate(
            t=round(t, 3),
            exercise=self.exercise.name,
            reps=self.counter.count,
            phase=self.counter.phase.value,
            angles={k: round(v, 1) for k, v in angles.items()},
            landmarks=_overlay(pose),
            issues=check.active,
            notice=notice,
            rep=rep,
            rep_issues=rep_issues,
            target=self.progress.as_dict(),
            received_at=received_at,
        )
        update.cue = self._pick_cue(t, rep_issues, check.active, notice)
        return update

    def finish(self) -> list[RepEvent]:
        """End of input: drop an unfinished rep (it does not count)."""
        events = self.counter.finish(self._last_t)
        self._rep_issues = []
        return events

    def _count_frame(self, t: float, pose: PoseResult | None) -> None:
        self.frames += 1
        self._last_t = t
        if self._first_t is None:
            self._first_t = t
        if pose is not None:
            self.frames_with_pose += 1
            self._last_pose_t = t

    def _measure(self, pose: PoseResult | None) -> dict[str, float]:
        if pose is None:
            return {}
        angles = {}
        for name, reader in self._readers.items():
            value = reader.measure(pose)
            if value is not None:
                angles[name] = value
        if self.counter.in_rep:
            for name, value in angles.items():
                low, high = self._extremes.get(name, (value, value))
                self._extremes[name] = (min(low, value), max(high, value))
        return angles

    def _handle_events(self, events: list[RepEvent]) -> tuple[RepCompleted | None, list[str]]:
        completed: RepCompleted | None = None
        issues: list[str] = []
        for event in events:
            if isinstance(event, RepStarted):
                self._rep_issues, self._extremes = [], {}
            elif isinstance(event, RepCompleted):
                completed, issues = event, self._close_rep(event)
                self.reps.append((event, issues))
                self.progress.record(event)
            elif isinstance(event, RepAbandoned) and event.reason == "partial":
                issues = self._close_rep(event)
        return completed, issues

    def _close_rep(self, event: RepCompleted | RepAbandoned) -> list[str]:
        extremes = dict(self._extremes)
        # The driving angle's extremes come from the filtered signal the counter saw.
        extremes[self.exercise.reps.angle] = (event.min_angle, event.max_angle)
        for code in self.rules.check_rep(extremes):
            self._note_issue(code, event.end_s)
        issues = list(self._rep_issues)
        self._rep_issues, self._extremes = [], {}
        return issues

    def _note_issue(self, code: str, t: float) -> None:
        # Counted once per rep (or per rest period), however often it flickers.
        if code in self._rep_issues:
            return
        self._rep_issues.append(code)
        tally = self._tally.get(code)
        if tally is None:
            self._tally[code] = _IssueTally(1, round(t, 3))
        else:
            tally.count += 1

    def _notice(self, t: float, pose: PoseResult | None) -> str | None:
        if pose is not None:
            return None
        since = self._last_pose_t if self._last_pose_t is not None else self._first_t
        if since is None or t - since < NO_PERSON_AFTER_S:
            return None
        if NO_PERSON not in self.notices:
            self.notices.append(NO_PERSON)
        return NO_PERSON

    def _pick_cue(
        self, t: float, rep_issues: list[str], active: list[str], notice: str | None
    ) -> Cue | None:
        candidates = [notice] if notice else [*rep_issues, *active]
        code = self._cues.offer(t, candidates)
        if code is None:
            return None
        if code == NO_PERSON:
            text = self.library.notice_text(code, self.language)
        else:
            text = self.exercise.cue_text(code, self.language)
        return Cue(code, text, self.language)

    def form_issues(self) -> list[dict[str, Any]]:
        """Return each issue code with how often it occurred and when first."""
        rows = [
            {"code": code, "count": tally.count, "first_at_s": tally.first_at_s}
            for code, tally in self._tally.items()
        ]
        return sorted(rows, key=lambda row: (row["first_at_s"], row["code"]))

    def report(self) -> dict[str, Any]:
        """Return the offline report (the ``analyze --json`` object)."""
        notices = list(self.notices)
        if self.frames and not self.frames_with_pose and NO_PERSON not in notices:
            notices.append(NO_PERSON)
        return {
            "exercise": self.exercise.name,
            "reps": self.counter.count,
            "reps_detail": [_rep_row(rep, issues) for rep, issues in self.reps],
            "form_issues": self.form_issues(),
            "frames": self.frames,
            "frames_with_pose": self.frames_with_pose,
            "notices": notices,
        }

    def summary(self) -> dict[str, Any]:
        """Return the per-exercise summary stored on the ticket at session end."""
        ranges = [rep.range_deg for rep, _ in self.reps]
        durations = [rep.end_s - rep.start_s for rep, _ in self.reps]
        return {
            "exercise": self.exercise.name,
            "reps": self.counter.count,
            "range_of_motion": {
                "min_angle": min((r.min_angle for r, _ in self.reps), default=None),
                "max_angle": max((r.max_angle for r, _ in self.reps), default=None),
                "mean_range_deg": round(sum(ranges) / len(ranges), 1) if ranges else None,
                "best_range_deg": round(max(ranges), 1) if ranges else None,
            },
            "mean_rep_s": round(sum(durations) / len(durations), 2) if durations else None,
            "issues": self.form_issues(),
            "target": self.progress.as_dict(),
            "frames": self.frames,
            "frames_with_pose": self.frames_with_pose,
        }


def _rep_row(rep: RepCompleted, issues: list[str]) -> dict[str, Any]:
    return {
        "start_s": round(rep.start_s, 3),
        "end_s": round(rep.end_s, 3),
        "min_angle": rep.min_angle,
        "max_angle": rep.max_angle,
        "issues": issues,
        "down_s": rep.down_s,
        "up_s": rep.up_s,
    }


def _overlay(pose: PoseResult | None) -> list[list[float]] | None:
    if pose is None:
        return None
    points = pose.normalized()
    return [
        [round(float(x), 4), round(float(y), 4), round(float(v), 3)]
        for (x, y), v in zip(points, pose.visibility, strict=True)
    ]
