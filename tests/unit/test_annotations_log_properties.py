"""Properties of the annotation log under random command sequences from random actors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from annotations.actor import Actor
from annotations.events import AnnotationEvent, EventType
from annotations.geometry import control_points
from annotations.limits import Limits
from annotations.log import AnnotationLog
from sessions.exceptions import TeleGuideError

ACTORS = [
    Actor("par_exp", "alice", "expert", can_annotate=True),
    Actor("par_trn", "tom", "trainer", can_annotate=True),
    Actor("par_sup", "sam", "supervisor", can_annotate=True, can_moderate=True),
    Actor("par_tec", "bob", "technician"),
]
PRODUCERS = ["prd_a", "prd_b"]
unit = st.floats(min_value=0, max_value=1, allow_nan=False)
point = st.tuples(unit, unit).map(list)
bad_point = st.sampled_from([[-0.01, 0.5], [0.5, 1.01], [2.0, 2.0]])


def drawn(kind: str, **fields: Any) -> st.SearchStrategy[dict[str, Any]]:
    """A drawn command of ``kind`` on one of the producers."""
    return st.fixed_dictionaries(
        {
            "kind": st.just(kind),
            "producer_id": st.sampled_from(PRODUCERS),
            "media_time_s": st.floats(min_value=0, max_value=100),
            **fields,
        }
    )


box = st.fixed_dictionaries({"x0": unit, "y0": unit, "x1": unit, "y1": unit})
mark_ref = st.sampled_from(["first", "last", "last", "mrk_unknown"])
producer = st.sampled_from(PRODUCERS)
valid_drawing = st.one_of(
    drawn("stroke", points=st.lists(point, min_size=2, max_size=12)),
    drawn("rectangle", box=box),
    drawn("ellipse", box=box),
    drawn("arrow", **{"from": point, "to": point}),
    drawn("text", position=point, text=st.text(min_size=1, max_size=12)),
)
invalid = st.one_of(
    drawn("stroke", points=st.lists(bad_point, min_size=2, max_size=3)),
    drawn("text", position=point, text=st.just("")),
    st.fixed_dictionaries({"kind": st.sampled_from(["spray", "", "STROKE"])}),
)
control = st.one_of(
    drawn("pointer", position=point),
    st.fixed_dictionaries({"kind": st.just("undo")}),
    st.fixed_dictionaries({"kind": st.just("undo"), "mark_id": mark_ref}),
    st.fixed_dictionaries({"kind": st.just("clear"), "scope": st.sampled_from(["mine", "all"])}),
    st.fixed_dictionaries({"kind": st.just("pin"), "mark_id": mark_ref}),
    st.fixed_dictionaries({"kind": st.just("unpin"), "mark_id": mark_ref}),
    st.fixed_dictionaries(
        {"kind": st.just("freeze"), "producer_id": producer, "media_time_s": unit}
    ),
    st.fixed_dictionaries({"kind": st.just("unfreeze"), "producer_id": producer}),
)
# Drawings come up most often, so that undo, clear and pin have marks to work on.
commands = st.one_of(valid_drawing, valid_drawing, valid_drawing, control, invalid)
steps = st.lists(st.tuples(st.sampled_from(ACTORS), commands), max_size=30)


def resolve(log: AnnotationLog, command: dict[str, Any]) -> dict[str, Any]:
    """Replace symbolic mark references by ids of live marks."""
    marks = log.state().marks
    ref = command.get("mark_id")
    if ref in ("first", "last"):
        picked = (marks[0] if ref == "first" else marks[-1]).mark_id if marks else "mrk_none"
        command = {**command, "mark_id": picked}
    return command


def replay(events: list[AnnotationEvent]) -> set[str]:
    """The live mark ids a timeline consumer rebuilds from the stored events alone."""
    live: set[str] = set()
    for event in events:
        if event.type is EventType.MARK_ADDED:
            live.add(event.data["mark"]["mark_id"])
        elif event.type is EventType.MARK_REMOVED:
            live.discard(event.data["mark_id"])
        elif event.type is EventType.MARKS_CLEARED:
            live -= set(event.data["mark_ids"])
    return live


@settings(max_examples=60, deadline=None)
@given(steps)
def test_refusals_change_nothing_and_the_events_rebuild_the_state(
    script: list[tuple[Actor, dict[str, Any]]],
) -> None:
    log = AnnotationLog(Limits(max_points_per_stroke=10, max_text_length=10, max_marks=8))
    now = datetime(2026, 3, 2, tzinfo=UTC)
    for step, (actor, command) in enumerate(script):
        command = resolve(log, command)
        before = (log.state(), log.seq)
        try:
            events = log.apply(actor, command, now + timedelta(seconds=step))
        except TeleGuideError:
            assert (log.state(), log.seq) == before
            continue
        stored = [e for e in events if e.seq is not None]
        assert [e.seq for e in stored] == list(range(before[1] + 1, log.seq + 1))
        for event in events:
            event.to_wire()  # every event serialises
    history = log.events_since(0)
    assert history is not None
    assert replay(history) == {m.mark_id for m in log.state().marks}
    assert {a.mark_id for a in log.state().anchors} <= {m.mark_id for m in log.state().marks}
    coordinates = [c for m in log.state().marks for p in control_points(m.shape) for c in p]
    assert all(0 <= c <= 1 for c in coordinates)
