"""Events of the analysis: rep events from the counter and the per-frame AnalysisUpdate."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class RepPhase(StrEnum):
    """Where the driving angle is in the current rep."""

    IDLE = "idle"
    """No confirmed rest position yet (start, or after losing the person)."""
    REST = "rest"
    MOVING = "moving"
    """Left rest, heading for the working zone (eccentric part of a squat)."""
    ACTIVE = "active"
    """In the working zone (bottom of a squat, top of an arm raise)."""
    RETURNING = "returning"
    """Left the working zone, heading back to rest."""


@dataclass(frozen=True, slots=True)
class RepStarted:
    """The driving angle left the rest zone."""

    index: int
    """1-based number the rep will have if it completes."""
    start_s: float
    """Time of the last sample at rest."""


@dataclass(frozen=True, slots=True)
class RepCompleted:
    """A full rep: rest, working zone, back to rest, with enough range."""

    index: int
    """1-based rep number."""
    start_s: float
    """Time of the last sample at rest before the movement."""
    end_s: float
    """Time the angle was back at rest."""
    min_angle: float
    """Smallest (smoothed) driving angle in the rep, degrees."""
    max_angle: float
    """Largest (smoothed) driving angle in the rep, degrees."""
    down_s: float
    """Seconds from start to the extreme (eccentric for a squat)."""
    up_s: float
    """Seconds from the extreme back to rest."""

    @property
    def range_deg(self) -> float:
        """Range of motion of the rep in degrees."""
        return self.max_angle - self.min_angle


@dataclass(frozen=True, slots=True)
class RepAbandoned:
    """A movement that did not become a rep."""

    start_s: float
    """Time of the last sample at rest before the movement."""
    end_s: float
    """Time the movement was given up (back at rest, lost, or end of input)."""
    min_angle: float
    """Smallest (smoothed) driving angle reached, degrees."""
    max_angle: float
    """Largest (smoothed) driving angle reached, degrees."""
    reason: str
    """partial (back to rest without reaching the working zone), lost_track or unfinished."""


RepEvent = RepStarted | RepCompleted | RepAbandoned


@dataclass(frozen=True, slots=True)
class Cue:
    """A spoken/displayed hint for the patient."""

    code: str
    """Stable issue or notice code (knee_valgus, no_person...)."""
    text: str
    """The hint in the stream's language."""
    language: str


@dataclass(slots=True)
class AnalysisUpdate:
    """What the analysis knows after one frame; sent to the patient and the expert."""

    t: float
    """Media time of the analysed frame, seconds."""
    exercise: str
    reps: int
    """Completed reps so far."""
    phase: str
    """RepPhase value."""
    angles: dict[str, float]
    """Current angles by name (degrees, rounded); missing ones are left out."""
    landmarks: list[list[float]] | None
    """33 x [x, y, visibility], x and y normalised to 0..1; None when nobody is seen."""
    issues: list[str] = field(default_factory=list)
    """Form issue codes active in this frame."""
    cue: Cue | None = None
    """A cue to show or say now (already rate-limited), if any."""
    notice: str | None = None
    """no_person when nobody has been in the frame for a while."""
    rep: RepCompleted | None = None
    """The rep completed by this frame, if any."""
    rep_issues: list[str] = field(default_factory=list)
    """Issues of the rep completed by this frame."""
    target: dict[str, Any] | None = None
    """Progress against the patient's targets (see targets.py)."""
    received_at: float = 0.0
    """time.monotonic() when the frame reached the analyser (for latency figures)."""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (the wire form of the feedback event)."""
        data = asdict(self)
        # A monotonic clock reading means nothing to a client.
        del data["received_at"]
        if self.rep is not None:
            data["rep"]["range_deg"] = round(self.rep.range_deg, 1)
        return data
