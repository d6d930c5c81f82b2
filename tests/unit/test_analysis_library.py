"""The exercise library: shipped content and validation of library documents."""

from __future__ import annotations

import json
from typing import Any

import pytest

from media.analysis.cues import CueGate
from media.analysis.library import LANGUAGES, default_library, parse_library
from media.analysis.targets import parse_targets
from sessions.exceptions import NotFoundError, ValidationError

REQUIRED = {
    "squat": {"insufficient_depth", "knee_valgus", "trunk_lean", "heel_lift"},
    "shoulder_abduction": {"trunk_side_bend", "elbow_bend", "asymmetry"},
    "sit_to_stand": set(),
    "standing_knee_flexion": set(),
    "straight_leg_raise": set(),
    "elbow_flexion": set(),
    "lunge": set(),
}


def test_library_has_the_required_exercises_and_codes() -> None:
    library = default_library()
    for name, codes in REQUIRED.items():
        exercise = library.get(name)
        assert exercise.name == name
        assert codes <= {rule.code for rule in exercise.rules}
        assert exercise.rules, f"{name} has no form rules"


def test_every_cue_and_notice_exists_in_every_language() -> None:
    library = default_library()
    for exercise in library.exercises.values():
        for rule in exercise.rules:
            for language in LANGUAGES:
                assert exercise.cues[rule.code][language].strip()
        assert set(exercise.title) >= set(LANGUAGES)
    for language in LANGUAGES:
        assert library.notice_text("no_person", language)
    assert library.notice_text("no_person", "zh-CN") != library.notice_text("no_person", "en")


def test_unknown_exercise_lists_the_known_ones() -> None:
    with pytest.raises(NotFoundError) as info:
        default_library().get("burpee")
    assert "squat" in info.value.message
    assert "lunge" in info.value.message


def _document(**changes: Any) -> dict[str, Any]:
    squat = json.loads(json.dumps(default_library().get("squat").model_dump(exclude={"name"})))
    squat.update(changes)
    return {"version": 1, "notices": {}, "exercises": {"squat": squat}}


def test_a_valid_document_round_trips() -> None:
    library = parse_library(json.dumps(_document()))
    assert library.get("squat").reps.angle == "knee"


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"cues": {}}, "has no text"),
        (
            {
                "reps": {
                    "angle": "elbow",
                    "direction": "decrease",
                    "rest_threshold": 150,
                    "active_threshold": 100,
                }
            },
            "not defined",
        ),
        (
            {
                "reps": {
                    "angle": "knee",
                    "direction": "decrease",
                    "rest_threshold": 120,
                    "active_threshold": 125,
                }
            },
            "past rest_threshold",
        ),
        ({"angles": {"knee": {"points": ["hip", "knee"]}}}, "takes 3 points"),
        ({"angles": {"knee": {"points": ["hip", "knee", "tail"]}}}, "unknown landmark"),
        ({"rules": [{"code": "x", "kind": "wobble"}]}, "wobble"),
    ],
)
def test_invalid_documents_are_rejected(changes: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_library(json.dumps(_document(**changes)))
    assert fragment in info.value.message


def test_broken_json_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        parse_library("{not json")


def test_targets_are_validated() -> None:
    assert parse_targets({"reps": 10, "sets": 3, "target_angle": 90}).reps == 10
    assert parse_targets(None).reps is None
    with pytest.raises(ValidationError):
        parse_targets({"reps": 0})
    with pytest.raises(ValidationError):
        parse_targets({"repetitions": 10})


def test_cue_gate_limits_repeats_and_rate() -> None:
    gate = CueGate(same_cue_s=8.0, min_interval_s=3.0)
    assert gate.offer(0.0, ["a"]) == "a"
    assert gate.offer(1.0, ["b"]) is None  # any cue within 3 s
    assert gate.offer(3.0, ["a", "b"]) == "b"  # a was given 3 s ago, b is next in priority
    assert gate.offer(6.5, ["a"]) is None  # same cue within 8 s
    assert gate.offer(8.0, ["a"]) == "a"
