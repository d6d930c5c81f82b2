"""The room: a joiner's first item is the state; events are serialised once for everyone."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np

from annotations.actor import Actor
from annotations.fanout import Subscriber
from annotations.room import AnnotationRoom
from sessions.clock import ManualClock

EXPERT = Actor("par_exp", "alice", "expert", can_annotate=True)
PATIENT = Actor("par_pat", "pia", "patient")
BOX = {"x0": 0.4, "y0": 0.4, "x1": 0.6, "y1": 0.6}
RECT = {"kind": "rectangle", "producer_id": "prd", "media_time_s": 1.0, "box": BOX}


def pending(subscriber: Subscriber[str]) -> list[dict[str, object]]:
    """Everything queued for a subscriber so far, decoded."""
    items = []
    while (item := subscriber.get_nowait()) is not None:
        items.append(json.loads(item))
    return items


def test_joiner_first_gets_the_state() -> None:
    room = AnnotationRoom(clock=ManualClock(datetime(2026, 3, 2, tzinfo=UTC)))
    room.handle(EXPERT, RECT)
    subscriber = room.join(PATIENT)
    [first] = pending(subscriber)
    assert first["type"] == "annotation_state"
    assert isinstance(first["state"], dict)
    assert first["state"]["seq"] == 1


def test_events_are_stamped_by_the_rooms_clock_and_fanned_out() -> None:
    clock = ManualClock(datetime(2026, 3, 2, 10, 30, tzinfo=UTC))
    room = AnnotationRoom(clock=clock)
    expert, patient = room.join(EXPERT), room.join(PATIENT)
    pending(expert), pending(patient)
    [event] = room.handle(EXPERT, RECT)
    assert event.at == clock.now()
    for subscriber in (expert, patient):
        [message] = pending(subscriber)
        assert message == {"type": "annotation", "annotation": event.to_wire()}


def test_pointer_is_not_echoed_to_its_sender() -> None:
    room = AnnotationRoom()
    expert, patient = room.join(EXPERT), room.join(PATIENT)
    pending(expert), pending(patient)
    room.handle(
        PATIENT,
        {"kind": "pointer", "producer_id": "prd", "media_time_s": 0, "position": [0.5, 0.5]},
    )
    assert pending(patient) == []
    assert len(pending(expert)) == 1


def test_anchor_updates_are_fanned_out_only_when_they_change_something() -> None:
    room = AnnotationRoom()
    mark_id = room.handle(EXPERT, RECT)[0].data["mark"]["mark_id"]
    room.handle(EXPERT, {"kind": "pin", "mark_id": mark_id})
    patient = room.join(PATIENT)
    pending(patient)
    shift = np.array([[1.0, 0, 0.05], [0, 1.0, 0], [0, 0, 1.0]])
    assert len(room.anchors_moved({mark_id: shift, "mrk_gone": None}, 2.0)) == 1
    assert room.anchors_moved({mark_id: shift}, 2.1) == []
    [message] = pending(patient)
    assert message["type"] == "annotation"


def test_slow_participant_is_dropped_without_stalling_the_others() -> None:
    room = AnnotationRoom(queue_size=3)
    slow, fast = room.join(PATIENT), room.join(EXPERT)
    for i in range(5):
        room.handle(EXPERT, {**RECT, "media_time_s": float(i)})
        pending(fast)
    assert slow.close_reason == "overflow"
    assert len(room) == 1
    room.leave(fast)
    assert len(room) == 0
    room.close()
