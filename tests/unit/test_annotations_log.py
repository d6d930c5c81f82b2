"""The annotation log: grants, limits, undo, clear, freeze, pin, state, and refusals."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from annotations.actor import Actor
from annotations.events import EventType
from annotations.limits import Limits
from annotations.log import AnnotationLog
from sessions.exceptions import (
    InvalidStateError,
    LimitExceededError,
    NotFoundError,
    PermissionDeniedError,
    TeleGuideError,
    ValidationError,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EXPERT = Actor("par_exp", "alice", "expert", can_annotate=True)
TRAINER = Actor("par_trn", "tom", "trainer", can_annotate=True)
MODERATOR = Actor("par_sup", "sam", "supervisor", can_annotate=True, can_moderate=True)
TECHNICIAN = Actor("par_tec", "bob", "technician")
OBSERVER = Actor("par_obs", "olga", "supervisor", can_point=False)


def stroke(**fields: Any) -> dict[str, Any]:
    """A valid stroke command."""
    base: dict[str, Any] = {
        "kind": "stroke",
        "producer_id": "prd_cam",
        "media_time_s": 3.2,
        "points": [[0.1, 0.1], [0.2, 0.3], [0.4, 0.35]],
    }
    return {**base, **fields}


def rectangle(producer_id: str = "prd_cam") -> dict[str, Any]:
    """A valid rectangle command."""
    box = {"x0": 0.3, "y0": 0.3, "x1": 0.6, "y1": 0.5}
    return {"kind": "rectangle", "producer_id": producer_id, "media_time_s": 4.0, "box": box}


def snapshot(log: AnnotationLog) -> dict[str, Any]:
    """Everything observable about a log, to compare before and after a refused command."""
    return {"state": log.state().to_wire(), "seq": log.seq, "since": log.events_since(0)}


def tick(n: int) -> datetime:
    """A time n seconds after T0, so that tests stay under the rate limit."""
    return T0 + timedelta(seconds=n)


def test_stroke_becomes_a_numbered_mark_event() -> None:
    log = AnnotationLog()
    [event] = log.apply(EXPERT, stroke(), T0)
    assert event.type is EventType.MARK_ADDED
    assert event.seq == 1
    assert event.participant_id == "par_exp"
    assert event.producer_id == "prd_cam"
    assert event.media_time_s == 3.2
    assert event.data["mark"]["shape"]["points"][1] == [0.2, 0.3]
    assert event.data["mark"]["mark_id"].startswith("mrk_")


def test_sequence_numbers_follow_the_order_of_commands() -> None:
    log = AnnotationLog()
    seqs = [log.apply(EXPERT, stroke(), tick(i))[0].seq for i in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    assert log.seq == 5


def test_every_event_is_json_for_the_timeline() -> None:
    log = AnnotationLog()
    events = log.apply(EXPERT, stroke(), T0) + log.apply(EXPERT, rectangle(), tick(1))
    events += log.apply(EXPERT, {"kind": "undo"}, tick(2))
    decoded = json.loads(json.dumps([e.to_wire() for e in events]))
    assert [e["type"] for e in decoded] == ["mark_added", "mark_added", "mark_removed"]
    assert decoded[0]["at"] == "2026-03-02T09:00:00Z"


def test_pointer_is_fanned_out_but_not_stored() -> None:
    log = AnnotationLog()
    pointer = {
        "kind": "pointer",
        "producer_id": "prd_cam",
        "media_time_s": 1,
        "position": [0.5, 0.5],
    }
    [event] = log.apply(TECHNICIAN, pointer, T0)
    assert event.type is EventType.POINTER
    assert event.seq is None
    assert event.data["position"] == [0.5, 0.5]
    assert log.seq == 0
    assert log.state().marks == []
    assert log.events_since(0) == []


@dataclass(frozen=True)
class TokenGrants:
    """The grant fields a token carries (as sessions.grants.Grants has them)."""

    can_annotate: bool = False
    can_moderate: bool = False
    hidden: bool = False


def test_actor_takes_drawing_and_moderation_from_the_grants() -> None:
    actor = Actor.from_grants("par_x", "x", "expert", TokenGrants(True, True))
    assert (actor.can_annotate, actor.can_moderate, actor.can_point) == (True, True, True)


def test_visible_participants_point_without_the_drawing_grant() -> None:
    actor = Actor.from_grants("par_x", "x", "patient", TokenGrants())
    assert (actor.can_annotate, actor.can_point) == (False, True)


def test_hidden_observer_may_not_point() -> None:
    actor = Actor.from_grants("par_x", "x", "supervisor", TokenGrants(hidden=True))
    assert not actor.can_point


def test_pointer_needs_no_drawing_grant() -> None:
    log = AnnotationLog()
    pointer = {"kind": "pointer", "producer_id": "prd_cam", "media_time_s": 1, "position": None}
    assert log.apply(Actor("par_pat", "pia", "patient"), pointer, T0)
    assert log.apply(EXPERT, pointer, T0)
    with pytest.raises(PermissionDeniedError, match="pointer"):
        log.apply(OBSERVER, pointer, T0)


def test_undo_removes_own_newest_mark() -> None:
    log = AnnotationLog()
    first = log.apply(EXPERT, stroke(), T0)[0].data["mark"]["mark_id"]
    second = log.apply(EXPERT, rectangle(), tick(1))[0].data["mark"]["mark_id"]
    log.apply(TRAINER, stroke(), tick(2))
    [event] = log.apply(EXPERT, {"kind": "undo"}, tick(3))
    assert event.type is EventType.MARK_REMOVED
    assert event.data["mark_id"] == second
    ids = {m.mark_id for m in log.state().marks}
    assert first in ids
    assert second not in ids


def test_undo_of_a_named_own_mark() -> None:
    log = AnnotationLog()
    first = log.apply(EXPERT, stroke(), T0)[0].data["mark"]["mark_id"]
    log.apply(EXPERT, stroke(), tick(1))
    log.apply(EXPERT, {"kind": "undo", "mark_id": first}, tick(2))
    assert first not in {m.mark_id for m in log.state().marks}


def test_moderator_may_undo_someone_elses_mark() -> None:
    log = AnnotationLog()
    mark_id = log.apply(EXPERT, stroke(), T0)[0].data["mark"]["mark_id"]
    [event] = log.apply(MODERATOR, {"kind": "undo", "mark_id": mark_id}, tick(1))
    assert event.data == {"mark_id": mark_id, "author": "par_exp"}
    assert log.state().marks == []


def test_reconnected_author_still_owns_their_marks() -> None:
    log = AnnotationLog()
    log.apply(EXPERT, stroke(), T0)
    again = Actor("par_new", "alice", "expert", can_annotate=True)
    [event] = log.apply(again, {"kind": "undo"}, tick(1))
    assert event.type is EventType.MARK_REMOVED


def test_clear_mine_leaves_other_peoples_marks() -> None:
    log = AnnotationLog()
    log.apply(EXPERT, stroke(), T0)
    log.apply(EXPERT, rectangle(), tick(1))
    kept = log.apply(TRAINER, stroke(), tick(2))[0].data["mark"]["mark_id"]
    [event] = log.apply(EXPERT, {"kind": "clear"}, tick(3))
    assert event.type is EventType.MARKS_CLEARED
    assert len(event.data["mark_ids"]) == 2
    assert [m.mark_id for m in log.state().marks] == [kept]


def test_clear_all_by_a_moderator_on_one_video() -> None:
    log = AnnotationLog()
    log.apply(EXPERT, rectangle("prd_cam"), T0)
    log.apply(TRAINER, rectangle("prd_cam"), tick(1))
    other = log.apply(EXPERT, rectangle("prd_screen"), tick(2))[0].data["mark"]["mark_id"]
    clear = {"kind": "clear", "scope": "all", "producer_id": "prd_cam"}
    [event] = log.apply(MODERATOR, clear, tick(3))
    assert event.producer_id == "prd_cam"
    assert [m.mark_id for m in log.state().marks] == [other]


def test_clear_with_nothing_to_clear_emits_nothing() -> None:
    log = AnnotationLog()
    assert log.apply(EXPERT, {"kind": "clear"}, T0) == []
    assert log.seq == 0


def test_late_joiner_state_has_marks_freeze_and_anchors() -> None:
    log = AnnotationLog()
    log.apply(EXPERT, stroke(), T0)
    removed = log.apply(EXPERT, rectangle(), tick(1))[0].data["mark"]["mark_id"]
    log.apply(EXPERT, {"kind": "undo"}, tick(2))
    pinned = log.apply(TRAINER, rectangle(), tick(3))[0].data["mark"]["mark_id"]
    log.apply(TRAINER, {"kind": "pin", "mark_id": pinned}, tick(4))
    log.apply(EXPERT, {"kind": "freeze", "producer_id": "prd_cam", "media_time_s": 9.5}, tick(5))
    state = log.state()
    assert state.seq == log.seq == 6
    assert [m.identity for m in state.marks] == ["alice", "tom"]
    assert removed not in {m.mark_id for m in state.marks}
    assert [(f.producer_id, f.media_time_s) for f in state.frozen] == [("prd_cam", 9.5)]
    assert [a.mark_id for a in state.anchors] == [pinned]
    json.dumps(state.to_wire())


def test_events_since_gives_the_missed_events_in_order() -> None:
    log = AnnotationLog()
    for i in range(4):
        log.apply(EXPERT, stroke(), tick(i))
    missed = log.events_since(2)
    assert missed is not None
    assert [e.seq for e in missed] == [3, 4]
    assert log.events_since(4) == []


def test_events_since_tells_when_history_is_too_short() -> None:
    log = AnnotationLog(history=3)
    for i in range(5):
        log.apply(EXPERT, stroke(), tick(i))
    assert log.events_since(0) is None
    since = log.events_since(2)
    assert since is not None
    assert [e.seq for e in since] == [3, 4, 5]


def test_freeze_and_unfreeze() -> None:
    log = AnnotationLog()
    freeze = {"kind": "freeze", "producer_id": "prd_cam", "media_time_s": 12.0}
    [frozen] = log.apply(EXPERT, freeze, T0)
    assert frozen.type is EventType.FROZEN
    assert frozen.media_time_s == 12.0
    with pytest.raises(InvalidStateError, match="already frozen"):
        log.apply(EXPERT, freeze, tick(1))
    [unfrozen] = log.apply(EXPERT, {"kind": "unfreeze", "producer_id": "prd_cam"}, tick(2))
    assert unfrozen.type is EventType.UNFROZEN
    assert log.state().frozen == []


def test_pin_follows_the_padded_mark_and_anchor_updates_are_throttled() -> None:
    log = AnnotationLog()
    mark_id = log.apply(EXPERT, rectangle(), T0)[0].data["mark"]["mark_id"]
    [pinned] = log.apply(EXPERT, {"kind": "pin", "mark_id": mark_id}, tick(1))
    assert pinned.data["region"] == pytest.approx({"x0": 0.24, "y0": 0.24, "x1": 0.66, "y1": 0.56})
    shift = np.array([[1.0, 0, 0.1], [0, 1.0, 0.05], [0, 0, 1.0]])
    [moved] = log.update_anchor(mark_id, shift, 5.0, tick(2))
    assert moved.type is EventType.ANCHOR_MOVED
    assert moved.data["visible"] is True
    assert moved.data["points"][0] == pytest.approx([0.4, 0.35])
    assert log.update_anchor(mark_id, shift, 5.1, tick(3)) == []
    [lost] = log.update_anchor(mark_id, None, 5.2, tick(4))
    assert lost.data["visible"] is False
    assert log.update_anchor(mark_id, None, 5.3, tick(5)) == []
    [back] = log.update_anchor(mark_id, shift, 5.4, tick(6))
    assert back.data["visible"] is True


def test_anchor_of_a_removed_mark_is_forgotten() -> None:
    log = AnnotationLog()
    mark_id = log.apply(EXPERT, rectangle(), T0)[0].data["mark"]["mark_id"]
    log.apply(EXPERT, {"kind": "pin", "mark_id": mark_id}, tick(1))
    log.apply(EXPERT, {"kind": "undo"}, tick(2))
    assert log.anchor(mark_id) is None
    assert log.update_anchor(mark_id, np.eye(3), 1.0, tick(3)) == []


def test_unpin() -> None:
    log = AnnotationLog()
    mark_id = log.apply(EXPERT, rectangle(), T0)[0].data["mark"]["mark_id"]
    log.apply(EXPERT, {"kind": "pin", "mark_id": mark_id}, tick(1))
    [event] = log.apply(EXPERT, {"kind": "unpin", "mark_id": mark_id}, tick(2))
    assert event.type is EventType.MARK_UNPINNED
    assert log.state().anchors == []


# -- refusals: each raises the right error and leaves the log as it was ---------------------


def _prepared_log() -> tuple[AnnotationLog, str]:
    """A log with one mark by the expert, one by the trainer, and a frozen video."""
    log = AnnotationLog(Limits(max_points_per_stroke=50, max_text_length=20, max_marks=3))
    mark_id = log.apply(EXPERT, stroke(), T0)[0].data["mark"]["mark_id"]
    log.apply(TRAINER, rectangle(), T0)
    log.apply(EXPERT, {"kind": "freeze", "producer_id": "prd_cam", "media_time_s": 1}, T0)
    return log, mark_id


REFUSALS: list[tuple[str, Actor, Any, type[TeleGuideError], str]] = [
    ("out of range", EXPERT, stroke(points=[[0.1, 0.1], [1.5, 0.2]]), ValidationError, "points"),
    ("too many points", EXPERT, stroke(points=[[0.5, 0.5]] * 51), ValidationError, "51 points"),
    ("unknown kind", EXPERT, {"kind": "blur", "producer_id": "p"}, ValidationError, "unknown"),
    (
        "text too long",
        EXPERT,
        {
            "kind": "text",
            "producer_id": "p",
            "media_time_s": 0,
            "position": [0, 0],
            "text": "x" * 21,
        },
        ValidationError,
        "21 characters",
    ),
    ("no grant", TECHNICIAN, stroke(), PermissionDeniedError, "may not annotate"),
    ("undo other", TRAINER, "undo-expert-mark", PermissionDeniedError, "can_moderate"),
    ("undo unknown", MODERATOR, {"kind": "undo", "mark_id": "mrk_x"}, NotFoundError, "mrk_x"),
    ("undo nothing", MODERATOR, {"kind": "undo"}, InvalidStateError, "nothing to undo"),
    ("clear all", EXPERT, {"kind": "clear", "scope": "all"}, PermissionDeniedError, "moderate"),
    ("clear no grant", TECHNICIAN, {"kind": "clear"}, PermissionDeniedError, "may not"),
    ("pin other", TRAINER, "pin-expert-mark", PermissionDeniedError, "can_moderate"),
    ("unpin unpinned", EXPERT, "unpin-expert-mark", InvalidStateError, "not pinned"),
    ("tiny region", EXPERT, "pin-tiny-region", ValidationError, "at least"),
    (
        "freeze twice",
        EXPERT,
        {"kind": "freeze", "producer_id": "prd_cam", "media_time_s": 2},
        InvalidStateError,
        "already frozen",
    ),
    ("unfreeze live", EXPERT, {"kind": "unfreeze", "producer_id": "x"}, InvalidStateError, "not"),
]


@pytest.mark.parametrize(
    ("actor", "command", "error", "message"),
    [r[1:] for r in REFUSALS],
    ids=[r[0] for r in REFUSALS],
)
def test_refused_command_leaves_the_log_unchanged(
    actor: Actor, command: Any, error: type[TeleGuideError], message: str
) -> None:
    log, mark_id = _prepared_log()
    command = _resolve(command, mark_id)
    before = snapshot(log)
    with pytest.raises(error, match=message):
        log.apply(actor, command, tick(1))
    assert snapshot(log) == before


def _resolve(command: Any, mark_id: str) -> Any:
    """Fill in the expert's mark id in the symbolic commands of REFUSALS."""
    symbolic = {
        "undo-expert-mark": {"kind": "undo", "mark_id": mark_id},
        "pin-expert-mark": {"kind": "pin", "mark_id": mark_id},
        "unpin-expert-mark": {"kind": "unpin", "mark_id": mark_id},
        "pin-tiny-region": {
            "kind": "pin",
            "mark_id": mark_id,
            "region": {"x0": 0.5, "y0": 0.5, "x1": 0.51, "y1": 0.6},
        },
    }
    return symbolic.get(command, command) if isinstance(command, str) else command


def test_too_many_marks_is_refused_and_changes_nothing() -> None:
    log, _ = _prepared_log()
    log.apply(MODERATOR, stroke(), T0)
    before = snapshot(log)
    with pytest.raises(LimitExceededError, match="3 marks"):
        log.apply(EXPERT, rectangle(), tick(1))
    assert snapshot(log) == before


def test_rate_limit_per_participant_then_refill() -> None:
    log = AnnotationLog(Limits(events_per_s=2, events_burst=3))
    for _ in range(3):
        log.apply(EXPERT, stroke(), T0)
    before = snapshot(log)
    with pytest.raises(LimitExceededError, match="at most 2 per second"):
        log.apply(EXPERT, stroke(), T0)
    assert snapshot(log) == before
    log.apply(TRAINER, stroke(), T0)  # another participant has their own bucket
    log.apply(EXPERT, stroke(), T0 + timedelta(seconds=0.5))


def test_pointer_has_its_own_faster_budget() -> None:
    log = AnnotationLog(Limits(events_per_s=1, events_burst=1, pointer_per_s=10, pointer_burst=5))
    log.apply(EXPERT, stroke(), T0)
    pointer = {"kind": "pointer", "producer_id": "p", "media_time_s": 0, "position": [0.5, 0.5]}
    for _ in range(5):
        log.apply(EXPERT, pointer, T0)
    with pytest.raises(LimitExceededError, match="pointer moves"):
        log.apply(EXPERT, pointer, T0)


def test_a_flood_of_garbage_is_rate_limited_too() -> None:
    log = AnnotationLog(Limits(events_per_s=1, events_burst=2))
    for _ in range(2):
        with pytest.raises(ValidationError):
            log.apply(EXPERT, {"kind": "stroke", "points": "lots"}, T0)
    with pytest.raises(LimitExceededError):
        log.apply(EXPERT, {"kind": "stroke", "points": "lots"}, T0)


def test_a_command_that_is_not_an_object_is_refused_clearly() -> None:
    log = AnnotationLog()
    with pytest.raises(ValidationError, match="JSON object"):
        log.apply(EXPERT, ["stroke"], T0)  # type: ignore[arg-type]
