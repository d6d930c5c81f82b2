"""Timeline entries of annotation events: in order, compact, anchor positions coalesced."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from annotations.events import AnnotationEvent, EventType
from signaling.annotation_timeline import AnnotationTimeline

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def event(seq: int | None, type_: EventType, **data: Any) -> AnnotationEvent:
    """An event of the expert's on prd_1 at media time seq / 10."""
    return AnnotationEvent(
        type=type_,
        seq=seq,
        at=NOW,
        participant_id="par_e",
        identity="expert-1",
        producer_id="prd_1",
        media_time_s=None if seq is None else seq / 10,
        data=data,
    )


def moved(seq: int, visible: bool = True) -> AnnotationEvent:
    """An anchor update of mark m1."""
    homography = [1.0, 0, seq / 100, 0, 1.0, 0, 0, 0, 1.0]
    return event(
        seq,
        EventType.ANCHOR_MOVED,
        mark_id="m1",
        visible=visible,
        homography=homography,
        points=[[0.1, 0.1]],
    )


class SlowStore:
    """Appends that wait for a gate, as a busy database would."""

    def __init__(self) -> None:
        self.written: list[tuple[str, str, dict[str, Any]]] = []
        self.batches: list[int] = []
        self.gate = asyncio.Event()

    async def append(self, entries: list[tuple[str, str, dict[str, Any]]]) -> None:
        await self.gate.wait()
        self.batches.append(len(entries))
        self.written.extend(entries)


async def test_waiting_anchor_positions_coalesce_and_the_rest_keeps_its_order() -> None:
    store = SlowStore()
    timeline = AnnotationTimeline(store.append)
    mark = {
        "mark_id": "m1",
        "author": "par_e",
        "identity": "expert-1",
        "seq": 1,
        "shape": {
            "kind": "arrow",
            "from": [0.1, 0.2],
            "to": [0.3, 0.4],
            "producer_id": "prd_1",
            "media_time_s": 0.1,
        },
    }
    timeline.add_event(event(1, EventType.MARK_ADDED, mark=mark))
    await asyncio.sleep(0)  # the writer takes the first entry and waits on the store
    timeline.add_event(event(None, EventType.POINTER, position=[0.5, 0.5]))
    for seq in range(2, 7):
        timeline.add_event(moved(seq))
    timeline.add_event(moved(7, visible=False))
    timeline.add_event(moved(8, visible=False))
    timeline.add_event(event(9, EventType.MARK_REMOVED, mark_id="m1", author="par_e"))
    timeline.add("expert-1", "attachment_added", {"attachment_id": "att_x"})
    store.gate.set()
    await asyncio.wait_for(timeline.drain(), 5)
    entries = [data for _, _, data in store.written]
    assert [e.get("seq") for e in entries] == [1, 6, 8, 9, None]
    assert [action for _, action, _ in store.written] == ["annotation"] * 4 + ["attachment_added"]
    assert timeline.coalesced == 5
    assert store.batches == [1, 4], "what waited behind the first write goes in one write"
    first = entries[0]
    assert first["type"] == "mark_added"
    assert first["shape"] == {"kind": "arrow", "from": [0.1, 0.2], "to": [0.3, 0.4]}
    assert (first["producer_id"], first["media_time_s"], first["mark_id"]) == ("prd_1", 0.1, "m1")
    assert entries[1]["homography"][2] == 0.06  # the newest position that waited
    assert "points" not in entries[1]
    assert entries[2]["visible"] is False
    await timeline.close()


async def test_a_position_after_the_written_one_is_queued_anew() -> None:
    store = SlowStore()
    store.gate.set()
    timeline = AnnotationTimeline(store.append)
    for seq in (1, 2, 3):
        timeline.add_event(moved(seq))
        await timeline.drain()
    assert [data["seq"] for _, _, data in store.written] == [1, 2, 3]
    assert timeline.coalesced == 0
    await timeline.close()
    await timeline.close()
