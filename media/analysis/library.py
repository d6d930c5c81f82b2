"""The exercise library: exercises described as data (exercises.json), validated on load."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator
from pydantic import ValidationError as PydanticValidationError

from media.analysis.landmarks import landmark_by_name
from sessions.exceptions import NotFoundError, ValidationError

LANGUAGES = ("en", "zh-CN")
"""Languages every cue text must exist in."""
DEFAULT_LANGUAGE = "en"

Side = Literal["left", "right", "both", "auto", "min", "max", "mid"]
Phase = Literal["idle", "rest", "moving", "active", "returning"]
Comparison = Literal["above", "below"]
MOVING_PHASES: list[Phase] = ["moving", "active", "returning"]
SIDED_NAMES = {"shoulder", "elbow", "wrist", "hip", "knee", "ankle", "heel", "foot_index"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_point(name: str) -> None:
    if name not in SIDED_NAMES:
        landmark_by_name(name)


class AngleSpec(_Model):
    """How to measure one named angle from the landmarks."""

    kind: Literal["joint", "segment_vertical"] = "joint"
    """joint: angle at the middle of three points; segment_vertical: segment vs. straight up."""
    points: list[str]
    """Landmark names; the sided ones (knee, hip...) get the side prefix (left_knee...)."""
    side: Side = "auto"
    """left/right; both = mean; auto = the more visible side; min/max = smaller/larger; mid."""
    space: Literal["image", "world"] = "image"
    """image: 2D pixel coordinates; world: 3D metric landmarks (independent of the view)."""

    @model_validator(mode="after")
    def _check(self) -> AngleSpec:
        expected = 3 if self.kind == "joint" else 2
        if len(self.points) != expected:
            raise ValueError(f"a {self.kind} angle takes {expected} points")
        for name in self.points:
            _check_point(name)
        return self


class RepSpec(_Model):
    """Rep counting: the driving angle, its rest and working zones, and noise guards."""

    angle: str
    """Name of the angle (in ``angles``) that drives the reps."""
    direction: Literal["decrease", "increase"]
    """How the angle moves from rest into the working zone (squat: decrease)."""
    rest_threshold: float
    """At rest when the angle is beyond this, on the rest side."""
    active_threshold: float
    """In the working zone when the angle is beyond this, on the working side."""
    hysteresis: float = Field(default=5.0, ge=0)
    """Degrees a zone's threshold must be crossed back by before the zone is left."""
    min_range: float = Field(default=30.0, gt=0)
    """A rep counts only if its angle spans at least this many degrees."""
    debounce_s: float = Field(default=0.15, ge=0)
    """A zone change must hold this long before it is believed."""
    max_gap_s: float = Field(default=1.0, gt=0)
    """Longer gaps without a measurement abandon a rep in progress and wait for rest."""
    partial_excursion: float = Field(default=15.0, ge=0)
    """Degrees past the rest threshold that make an abandoned movement a partial rep."""

    @model_validator(mode="after")
    def _check(self) -> RepSpec:
        sign = 1 if self.direction == "increase" else -1
        if sign * (self.active_threshold - self.rest_threshold) <= 2 * self.hysteresis:
            raise ValueError("active_threshold must lie past rest_threshold by > 2*hysteresis")
        return self


class _RuleBase(_Model):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    """Stable issue code (wire and report); cue texts are keyed by it."""
    phases: list[Phase] = Field(default_factory=lambda: list(MOVING_PHASES))
    """Rep phases in which a per-frame rule is checked."""
    min_duration_s: float = Field(default=0.2, ge=0)
    """A per-frame condition must hold this long before it becomes an issue."""


class RepExtremeRule(_RuleBase):
    """Checked once per rep: the rep's min or max of an angle compared with a threshold."""

    kind: Literal["rep_extreme"]
    angle: str
    statistic: Literal["min", "max"]
    op: Comparison
    """Issue when the statistic is above/below the threshold."""
    threshold: float


class AngleRule(_RuleBase):
    """Per frame: an angle above or below a threshold."""

    kind: Literal["angle"]
    angle: str
    op: Comparison
    threshold: float


class AsymmetryRule(_RuleBase):
    """Per frame: left and right versions of an angle differ by more than ``max_diff``."""

    kind: Literal["asymmetry"]
    angle: str
    max_diff: float = Field(gt=0)


class DistanceRatioRule(_RuleBase):
    """Per frame: distance between two landmarks over distance between two others."""

    kind: Literal["distance_ratio"]
    numerator: tuple[str, str]
    denominator: tuple[str, str]
    op: Comparison
    threshold: float

    @model_validator(mode="after")
    def _check(self) -> DistanceRatioRule:
        for name in (*self.numerator, *self.denominator):
            landmark_by_name(name)
        return self


class DisplacementRule(_RuleBase):
    """Per frame: a landmark moved from where it was at rest, relative to a body length."""

    kind: Literal["displacement"]
    landmark: str
    """Sided base name (heel) or a full landmark name."""
    side: Literal["left", "right", "both"] = "both"
    """both: an issue when either side moves."""
    direction: Literal["up", "down"]
    scale: tuple[str, str]
    """Sided base names whose distance is the unit (hip, ankle = leg length)."""
    threshold: float = Field(gt=0)
    """Fraction of the scale length."""

    @model_validator(mode="after")
    def _check(self) -> DisplacementRule:
        for name in (self.landmark, *self.scale):
            _check_point(name)
        return self


Rule = Annotated[
    RepExtremeRule | AngleRule | AsymmetryRule | DistanceRatioRule | DisplacementRule,
    Field(discriminator="kind"),
]
Texts = dict[str, str]


class Exercise(_Model):
    """One exercise: what to measure, how reps are counted, which form rules apply."""

    name: str = ""
    """Filled from the library key."""
    title: Texts
    view: Literal["front", "side", "any"] = "any"
    """The camera view the thresholds were chosen for (shown to the patient)."""
    angles: dict[str, AngleSpec]
    reps: RepSpec
    rules: list[Rule] = Field(default_factory=list)
    """In priority order: the first active issue is the one cued."""
    cues: dict[str, Texts]

    @model_validator(mode="after")
    def _check(self) -> Exercise:
        names = {self.reps.angle} | {r.angle for r in self.rules if hasattr(r, "angle")}
        for name in names:
            if name not in self.angles:
                raise ValueError(f"angle {name!r} is used but not defined")
        for rule in self.rules:
            texts = self.cues.get(rule.code, {})
            missing = [lang for lang in LANGUAGES if lang not in texts]
            if missing:
                raise ValueError(f"cue {rule.code!r} has no text in {missing}")
        return self

    def cue_text(self, code: str, language: str) -> str:
        """Return the cue for ``code`` in ``language`` (English when not translated)."""
        texts = self.cues.get(code, {})
        return texts.get(language) or texts.get(DEFAULT_LANGUAGE, code)


class ExerciseLibrary(_Model):
    """All exercises plus the notices shared by all of them."""

    version: int
    notices: dict[str, Texts]
    exercises: dict[str, Exercise]

    def get(self, name: str) -> Exercise:
        """Return the exercise ``name`` or raise NotFoundError listing the known ones."""
        exercise = self.exercises.get(name)
        if exercise is None:
            known = ", ".join(sorted(self.exercises))
            raise NotFoundError(f"unknown exercise {name!r}; known: {known}", known=known)
        return exercise

    def notice_text(self, code: str, language: str) -> str:
        """Return a notice (no_person...) in ``language``, falling back to English."""
        texts = self.notices.get(code, {})
        return texts.get(language) or texts.get(DEFAULT_LANGUAGE, code)


_ADAPTER = TypeAdapter(ExerciseLibrary)


def parse_library(text: str) -> ExerciseLibrary:
    """Parse and validate a library document; raise ValidationError naming the problem."""
    try:
        raw = json.loads(text)
        for name, body in raw.get("exercises", {}).items():
            body["name"] = name
        return _ADAPTER.validate_python(raw)
    except (json.JSONDecodeError, PydanticValidationError, AttributeError, TypeError) as exc:
        raise ValidationError(f"invalid exercise library: {exc}") from exc


@cache
def default_library() -> ExerciseLibrary:
    """Return the library shipped in the package (loaded once)."""
    text = resources.files("media.analysis").joinpath("exercises.json").read_text("utf-8")
    return parse_library(text)


def check_language(language: str) -> str:
    """Return ``language`` if cues exist in it, else raise ValidationError."""
    if language not in LANGUAGES:
        raise ValidationError(f"unsupported language {language!r}; use one of {LANGUAGES}")
    return language
