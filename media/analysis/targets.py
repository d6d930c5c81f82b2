"""Per-patient targets (set by the therapist on the ticket) and progress against them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from media.analysis.events import RepCompleted
from sessions.exceptions import ValidationError

TARGET_TOLERANCE_DEG = 5.0
"""A rep within this many degrees of the target angle counts as reaching it."""


class ExerciseTargets(BaseModel):
    """What the therapist asks of one patient for one exercise (``ticket.targets[name]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target_angle: float | None = Field(default=None, ge=0, le=180)
    """Angle each rep should reach (knee angle at the bottom of a squat...)."""
    reps: int | None = Field(default=None, ge=1, le=1000)
    """Reps per set."""
    sets: int | None = Field(default=None, ge=1, le=100)


def parse_targets(raw: dict[str, Any] | None) -> ExerciseTargets:
    """Validate a targets dict from the ticket; raise ValidationError naming the problem."""
    try:
        return ExerciseTargets.model_validate(raw or {})
    except PydanticValidationError as exc:
        raise ValidationError(f"invalid exercise targets: {exc}") from exc


class TargetProgress:
    """Counts reps, sets and reps that reached the target angle."""

    def __init__(self, targets: ExerciseTargets, direction: str) -> None:
        self.targets = targets
        self._decreasing = direction == "decrease"
        self.reps_done = 0
        self.reps_at_target = 0
        self.best_angle: float | None = None
        self.last_reached: bool | None = None

    def record(self, rep: RepCompleted) -> None:
        """Account for one completed rep."""
        self.reps_done += 1
        extreme = rep.min_angle if self._decreasing else rep.max_angle
        if self.best_angle is None:
            self.best_angle = extreme
        else:
            pick = min if self._decreasing else max
            self.best_angle = pick(self.best_angle, extreme)
        goal = self.targets.target_angle
        if goal is None:
            return
        if self._decreasing:
            self.last_reached = extreme <= goal + TARGET_TOLERANCE_DEG
        else:
            self.last_reached = extreme >= goal - TARGET_TOLERANCE_DEG
        self.reps_at_target += int(self.last_reached)

    def as_dict(self) -> dict[str, Any]:
        """Return the progress figures sent with updates and stored in the summary."""
        per_set, sets = self.targets.reps, self.targets.sets
        total = per_set * (sets or 1) if per_set is not None else None
        return {
            "reps_done": self.reps_done,
            "reps_per_set": per_set,
            "sets_target": sets,
            "sets_done": self.reps_done // per_set if per_set else None,
            "reps_in_set": self.reps_done % per_set if per_set else None,
            "reps_target": total,
            "complete": total is not None and self.reps_done >= total,
            "target_angle": self.targets.target_angle,
            "reps_at_target": self.reps_at_target,
            "last_rep_reached_target": self.last_reached,
            "best_angle": self.best_angle,
        }
