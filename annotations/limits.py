"""Limits on what one participant may send: sizes per command and a rate per second."""

from __future__ import annotations

from dataclasses import dataclass, field

from annotations.messages import AnnotationCommand, Stroke, TextLabel
from sessions.exceptions import LimitExceededError, ValidationError


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-session annotation limits; the defaults suit a phone or a browser drawing by hand."""

    max_points_per_stroke: int = 2000
    """A 10 s stroke sampled at 120 Hz stays under it; more is a bug or an attack."""
    max_text_length: int = 200
    """Characters in a text label."""
    max_marks: int = 1000
    """Marks alive at once in a session, so a late joiner's state stays small."""
    events_per_s: float = 20.0
    """Sustained rate of stored commands (marks, undo, clear, freeze, pin) per participant."""
    events_burst: int = 40
    """How many stored commands may come at once before the rate applies."""
    pointer_per_s: float = 60.0
    """Sustained rate of laser-pointer moves per participant (a display refresh)."""
    pointer_burst: int = 60
    """Pointer moves allowed at once."""


@dataclass(slots=True)
class TokenBucket:
    """Sans-I/O token bucket: ``rate`` tokens a second, at most ``burst``; ``now`` is given."""

    rate: float
    """Tokens added per second."""
    burst: float
    """Capacity."""
    tokens: float = field(default=-1.0)
    """Tokens left; starts full."""
    last: float | None = None
    """``now`` of the previous call, in seconds."""

    def __post_init__(self) -> None:
        """Start full unless told otherwise."""
        if self.tokens < 0:
            self.tokens = self.burst

    def try_take(self, now: float) -> bool:
        """Take one token if there is one; tell whether it was taken."""
        if self.last is not None and now > self.last:
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now if self.last is None else max(self.last, now)
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class RateLimiter:
    """One pair of buckets (stored commands, pointer) per participant."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._buckets: dict[tuple[str, bool], TokenBucket] = {}

    def check(self, participant_id: str, pointer: bool, now: float) -> None:
        """Spend one token (from the pointer bucket or the other); raise when none is left."""
        bucket = self._buckets.get((participant_id, pointer))
        if bucket is None:
            bucket = self._new_bucket(pointer)
            self._buckets[(participant_id, pointer)] = bucket
        if not bucket.try_take(now):
            what = "pointer moves" if pointer else "annotation commands"
            raise LimitExceededError(
                f"too many {what}: at most {bucket.rate:g} per second", rate_per_s=bucket.rate
            )

    def forget(self, participant_id: str) -> None:
        """Drop a participant's buckets when they leave."""
        self._buckets.pop((participant_id, True), None)
        self._buckets.pop((participant_id, False), None)

    def _new_bucket(self, pointer: bool) -> TokenBucket:
        """Return a full bucket of the right kind."""
        if pointer:
            return TokenBucket(self._limits.pointer_per_s, self._limits.pointer_burst)
        return TokenBucket(self._limits.events_per_s, self._limits.events_burst)


def check_sizes(command: AnnotationCommand, limits: Limits) -> None:
    """Raise ValidationError when a command is bigger than the limits allow."""
    if isinstance(command, Stroke) and len(command.points) > limits.max_points_per_stroke:
        raise ValidationError(
            f"stroke has {len(command.points)} points; at most "
            f"{limits.max_points_per_stroke} are allowed",
            limit=limits.max_points_per_stroke,
        )
    if isinstance(command, TextLabel) and len(command.text) > limits.max_text_length:
        raise ValidationError(
            f"text is {len(command.text)} characters long; at most "
            f"{limits.max_text_length} are allowed",
            limit=limits.max_text_length,
        )
