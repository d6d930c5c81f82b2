"""One engine for every form rule kind in the library (no code per exercise)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from media.analysis.angles import MIN_VISIBILITY, AngleReader, sided
from media.analysis.events import RepPhase
from media.analysis.landmarks import PoseResult, landmark_by_name
from media.analysis.library import (
    AngleRule,
    AsymmetryRule,
    DisplacementRule,
    DistanceRatioRule,
    Exercise,
    RepExtremeRule,
)

FrameRule = AngleRule | AsymmetryRule | DistanceRatioRule | DisplacementRule


def _compare(value: float, op: str, threshold: float) -> bool:
    return value > threshold if op == "above" else value < threshold


@dataclass(slots=True)
class _Hold:
    """How long a per-frame condition has held."""

    since: float | None = None
    active: bool = False


@dataclass(frozen=True, slots=True)
class FrameCheck:
    """Result of checking one frame."""

    active: list[str]
    """Issue codes active now, in the library's priority order."""
    raised: list[str]
    """Codes that became active with this frame (one per episode, for counting)."""


class RuleEngine:
    """Evaluates an exercise's form rules frame by frame and per rep."""

    def __init__(self, exercise: Exercise, readers: dict[str, AngleReader]) -> None:
        self.exercise = exercise
        self._readers = readers
        self._frame_rules: list[FrameRule] = [
            r for r in exercise.rules if not isinstance(r, RepExtremeRule)
        ]
        self._rep_rules = [r for r in exercise.rules if isinstance(r, RepExtremeRule)]
        self._holds = {r.code: _Hold() for r in self._frame_rules}
        # Landmark heights at rest, per rule and side, for displacement rules.
        self._baselines: dict[tuple[str, str], float] = {}
        self._last_phase = RepPhase.IDLE

    def check_frame(
        self, t: float, pose: PoseResult | None, phase: RepPhase, angles: dict[str, float]
    ) -> FrameCheck:
        """Update every per-frame rule with this frame and return the active issues."""
        active: list[str] = []
        raised: list[str] = []
        if pose is not None and phase == RepPhase.REST:
            self._update_baselines(pose, fresh=self._last_phase != RepPhase.REST)
        self._last_phase = phase
        for rule in self._frame_rules:
            hold = self._holds[rule.code]
            checked = phase.value in rule.phases and pose is not None
            condition = checked and pose is not None and self._condition(rule, pose, angles)
            if not condition:
                hold.since, hold.active = None, False
                continue
            if hold.since is None:
                hold.since = t
            if not hold.active and t - hold.since + 1e-9 >= rule.min_duration_s:
                hold.active = True
                raised.append(rule.code)
            if hold.active:
                active.append(rule.code)
        return FrameCheck(active, raised)

    def check_rep(self, extremes: dict[str, tuple[float, float]]) -> list[str]:
        """Return the rep-level issues of a finished rep from its (min, max) per angle."""
        issues = []
        for rule in self._rep_rules:
            span = extremes.get(rule.angle)
            if span is None:
                continue
            value = span[0] if rule.statistic == "min" else span[1]
            if _compare(value, rule.op, rule.threshold):
                issues.append(rule.code)
        return issues

    def _condition(self, rule: FrameRule, pose: PoseResult, angles: dict[str, float]) -> bool:
        if isinstance(rule, AngleRule):
            value = angles.get(rule.angle)
            return value is not None and _compare(value, rule.op, rule.threshold)
        if isinstance(rule, AsymmetryRule):
            return self._asymmetric(rule, pose)
        if isinstance(rule, DistanceRatioRule):
            ratio = distance_ratio(pose, rule.numerator, rule.denominator)
            return ratio is not None and _compare(ratio, rule.op, rule.threshold)
        return self._displaced(rule, pose)

    def _asymmetric(self, rule: AsymmetryRule, pose: PoseResult) -> bool:
        reader = self._readers[rule.angle]
        left, right = reader.measure_side(pose, "left"), reader.measure_side(pose, "right")
        return left is not None and right is not None and abs(left - right) > rule.max_diff

    def _displaced(self, rule: DisplacementRule, pose: PoseResult) -> bool:
        sides = ("left", "right") if rule.side == "both" else (rule.side,)
        for side in sides:
            base = self._baselines.get((rule.code, side))
            value = displacement(pose, rule, side, base)
            if value is not None and value > rule.threshold:
                return True
        return False

    def _update_baselines(self, pose: PoseResult, fresh: bool) -> None:
        """Track the rest position: the lowest point for "up" rules (highest for "down").

        The counter confirms leaving rest only after some movement, so the last rest
        frames may already show the fault; the extreme over the rest period does not.
        """
        for rule in self._frame_rules:
            if not isinstance(rule, DisplacementRule):
                continue
            pick = max if rule.direction == "up" else min
            for side in ("left", "right"):
                index = landmark_by_name(sided(rule.landmark, side))
                if pose.visibility[index] < MIN_VISIBILITY:
                    continue
                y = float(pose.image[index, 1])
                old = self._baselines.get((rule.code, side))
                self._baselines[(rule.code, side)] = y if fresh or old is None else pick(old, y)


def _distance(pose: PoseResult, a: str, b: str) -> float | None:
    ia, ib = landmark_by_name(a), landmark_by_name(b)
    if min(pose.visibility[ia], pose.visibility[ib]) < MIN_VISIBILITY:
        return None
    return float(np.linalg.norm(pose.image[ia, :2] - pose.image[ib, :2]))


def distance_ratio(
    pose: PoseResult, numerator: tuple[str, str], denominator: tuple[str, str]
) -> float | None:
    """Return |numerator| / |denominator| in image space, None if unseen or degenerate."""
    top, bottom = _distance(pose, *numerator), _distance(pose, *denominator)
    if top is None or bottom is None or bottom < 1e-6:
        return None
    return top / bottom


def displacement(
    pose: PoseResult, rule: DisplacementRule, side: str, baseline_y: float | None
) -> float | None:
    """Return how far the rule's landmark moved from its rest height, in scale lengths."""
    if baseline_y is None:
        return None
    index = landmark_by_name(sided(rule.landmark, side))
    scale = _distance(pose, sided(rule.scale[0], side), sided(rule.scale[1], side))
    if pose.visibility[index] < MIN_VISIBILITY or scale is None or scale < 1e-6:
        return None
    # Image y grows downwards, so moving up makes y smaller.
    moved = baseline_y - float(pose.image[index, 1])
    value = moved if rule.direction == "up" else -moved
    return value / scale if math.isfinite(value) else None
