"""The video side: freeze takes the still the expert saw; pinned marks follow the camera."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import av
import cv2
import numpy as np
import pytest
from blockbuster import blockbuster_ctx

from annotations.actor import Actor
from annotations.events import AnnotationEvent, EventType
from annotations.fanout import Subscriber
from annotations.log import AnnotationLog
from annotations.render import render_marks
from annotations.room import AnnotationRoom
from annotations.video import AnnotationVideo, RenderedStill
from sessions.clock import ManualClock
from sessions.exceptions import NotFoundError

W, H = 640, 480
EXPERT = Actor("par_exp", "alice", "expert", can_annotate=True)
PATIENT = Actor("par_pat", "pia", "patient")
BOX = {"x0": 0.42, "y0": 0.4, "x1": 0.58, "y1": 0.6}


def scene() -> np.ndarray:
    """A textured 1000x800 scene."""
    rng = np.random.default_rng(11)
    noise = cv2.GaussianBlur((rng.random((800, 1000)) * 255).astype(np.uint8), (0, 0), 2.5)
    image = cv2.cvtColor(noise, cv2.COLOR_GRAY2BGR)
    for _ in range(150):
        x, y = (int(v) for v in rng.integers(0, [1000, 800]))
        cv2.circle(image, (x, y), int(rng.integers(4, 25)), (255, 255, 255), 2)
    return np.ascontiguousarray(image)


def frame_at(image: np.ndarray, t: int, dx: int = 0) -> av.VideoFrame:
    """The camera's view at frame t (30 fps), ``dx`` px right of the start."""
    view = np.ascontiguousarray(image[150 : 150 + H, 150 + dx : 150 + dx + W])
    frame = av.VideoFrame.from_ndarray(view, format="bgr24")
    frame.pts, frame.time_base = 3000 * t, Fraction(1, 90000)
    return frame


async def next_anchor_event(subscriber: Subscriber[str]) -> dict[str, Any]:
    """Wait for the next anchor_moved event queued for a subscriber."""
    while True:
        item = await asyncio.wait_for(subscriber.get(), 10)
        assert item is not None
        message = json.loads(item)
        if message.get("annotation", {}).get("type") == "anchor_moved":
            return dict(message["annotation"])


async def test_freeze_renders_the_frame_the_expert_saw_with_the_marks() -> None:
    room = AnnotationRoom()
    video = room.video()
    image = scene()
    for t in range(10):
        video.observe("prd", frame_at(image, t, dx=5 * t))
    events = room.handle(EXPERT, {"kind": "freeze", "producer_id": "prd", "media_time_s": 4 / 30})
    await video.on_events(events)
    rect = {"kind": "rectangle", "producer_id": "prd", "media_time_s": 4 / 30, "box": BOX}
    room.handle(EXPERT, rect)
    png = await video.still_png("prd")
    decoded = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    expected = render_marks(frame_at(image, 4, dx=20), room.log.marks_on("prd"))
    assert np.array_equal(decoded, expected)
    await video.on_events(room.handle(EXPERT, {"kind": "unfreeze", "producer_id": "prd"}))
    with pytest.raises(NotFoundError, match="not frozen"):
        await video.still_png("prd")
    await video.close()


async def test_freeze_before_any_frame_takes_the_next_frame() -> None:
    stills: list[RenderedStill] = []

    async def attach(still: RenderedStill) -> None:
        stills.append(still)

    room = AnnotationRoom()
    video = AnnotationVideo(room.log, room.publish, on_still=attach)
    image = scene()
    freeze = {"kind": "freeze", "producer_id": "prd", "media_time_s": 9.0}
    await video.on_events(room.handle(EXPERT, freeze))
    assert video.needs_frames("prd")
    unfreezing = asyncio.create_task(
        video.on_events(room.handle(EXPERT, {"kind": "unfreeze", "producer_id": "prd"}))
    )
    await asyncio.sleep(0.05)
    assert not unfreezing.done(), "the unfreeze waits for the still it is to hand over"
    video.observe("prd", frame_at(image, 7))  # decoding started at the freeze: a keyframe
    video.observe("prd", frame_at(image, 8, dx=30))
    await asyncio.wait_for(unfreezing, 5)
    [still] = stills
    decoded = cv2.imdecode(np.frombuffer(still.png, np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(decoded, render_marks(frame_at(image, 7), []))
    assert still.media_time_s == pytest.approx(7 / 30)
    assert not video.needs_frames("prd")
    await video.close()


async def test_pin_before_any_frame_learns_the_next_frame() -> None:
    room = AnnotationRoom()
    video = room.video()
    image = scene()
    rect = {"kind": "rectangle", "producer_id": "prd", "media_time_s": 0.0, "box": BOX}
    mark_id = room.handle(EXPERT, rect)[0].data["mark"]["mark_id"]
    pinning = asyncio.create_task(
        video.on_events(room.handle(EXPERT, {"kind": "pin", "mark_id": mark_id}))
    )
    await asyncio.sleep(0.05)
    assert video.needs_frames("prd")
    assert not video.tracked_marks("prd")
    video.observe("prd", frame_at(image, 0))
    await asyncio.wait_for(pinning, 10)
    assert video.tracked_marks("prd") == [mark_id]
    await video.close()


async def test_freeze_before_any_frame_has_no_still() -> None:
    room = AnnotationRoom()
    video = AnnotationVideo(room.log, room.publish, first_frame_timeout_s=0.1)
    events = room.handle(EXPERT, {"kind": "freeze", "producer_id": "prd", "media_time_s": 1.0})
    await video.on_events(events)
    with pytest.raises(NotFoundError):
        await video.still_png("prd")


async def test_pinned_mark_follows_the_camera_and_stops_when_removed() -> None:
    room = AnnotationRoom()
    video = room.video()
    patient = room.join(PATIENT)
    image = scene()
    video.observe("prd", frame_at(image, 0))
    rect = {"kind": "rectangle", "producer_id": "prd", "media_time_s": 0.0, "box": BOX}
    mark_id = room.handle(EXPERT, rect)[0].data["mark"]["mark_id"]
    await video.on_events(room.handle(EXPERT, {"kind": "pin", "mark_id": mark_id}))
    video.observe("prd", frame_at(image, 1, dx=32))  # the camera pans 32 px right
    event = await next_anchor_event(patient)
    assert event["data"]["visible"] is True
    assert event["media_time_s"] == pytest.approx(1 / 30)
    # The object appears 32 px (0.05 of the width) further left.
    assert event["data"]["points"][0] == pytest.approx([0.42 - 0.05, 0.4], abs=2 / W)
    await video.on_events(room.handle(EXPERT, {"kind": "undo"}))
    before = room.log.seq
    video.observe("prd", frame_at(image, 2, dx=64))
    await asyncio.sleep(0.2)
    assert room.log.seq == before
    await video.close()


async def test_tracking_pauses_while_the_video_is_frozen() -> None:
    room = AnnotationRoom()
    video = room.video()
    image = scene()
    video.observe("prd", frame_at(image, 0))
    rect = {"kind": "rectangle", "producer_id": "prd", "media_time_s": 0.0, "box": BOX}
    mark_id = room.handle(EXPERT, rect)[0].data["mark"]["mark_id"]
    await video.on_events(room.handle(EXPERT, {"kind": "pin", "mark_id": mark_id}))
    freeze = {"kind": "freeze", "producer_id": "prd", "media_time_s": 0.0}
    await video.on_events(room.handle(EXPERT, freeze))
    patient = room.join(PATIENT)
    before = room.log.seq
    video.observe("prd", frame_at(image, 1, dx=40))
    await asyncio.sleep(0.3)
    assert room.log.seq == before
    # Control: once live again the same frame moves the mark, so the pause was the freeze.
    await video.on_events(room.handle(EXPERT, {"kind": "unfreeze", "producer_id": "prd"}))
    video.observe("prd", frame_at(image, 2, dx=40))
    event = await next_anchor_event(patient)
    assert event["seq"] == before + 2
    await video.close()
    await video.close()


async def test_unpin_while_the_region_is_being_learnt_stops_tracking() -> None:
    room = AnnotationRoom()
    video = room.video()
    video.observe("prd", frame_at(scene(), 0))
    rect = {"kind": "rectangle", "producer_id": "prd", "media_time_s": 0.0, "box": BOX}
    mark_id = room.handle(EXPERT, rect)[0].data["mark"]["mark_id"]
    pinning = asyncio.create_task(
        video.on_events(room.handle(EXPERT, {"kind": "pin", "mark_id": mark_id}))
    )
    await asyncio.sleep(0)  # the pin is now learning the region in a worker thread
    await video.on_events(room.handle(EXPERT, {"kind": "unpin", "mark_id": mark_id}))
    await pinning
    assert video.tracked_marks("prd") == []
    await video.close()


async def test_pinned_marks_are_listed_until_the_producer_closes() -> None:
    room = AnnotationRoom()
    video = room.video()
    video.observe("prd", frame_at(scene(), 0))
    rect = {"kind": "rectangle", "producer_id": "prd", "media_time_s": 0.0, "box": BOX}
    mark_id = room.handle(EXPERT, rect)[0].data["mark"]["mark_id"]
    await video.on_events(room.handle(EXPERT, {"kind": "pin", "mark_id": mark_id}))
    assert video.tracked_marks("prd") == [mark_id]
    await video.producer_closed("prd")
    assert video.tracked_marks("prd") == []


async def test_nothing_blocks_the_event_loop() -> None:
    room = AnnotationRoom()
    video = room.video()
    patient = room.join(PATIENT)
    image = scene()
    frames = [frame_at(image, t, dx=8 * t) for t in range(4)]
    rect = {"kind": "rectangle", "producer_id": "prd", "media_time_s": 0.0, "box": BOX}
    with blockbuster_ctx():
        video.observe("prd", frames[0])
        mark_id = room.handle(EXPERT, rect)[0].data["mark"]["mark_id"]
        await video.on_events(room.handle(EXPERT, {"kind": "pin", "mark_id": mark_id}))
        for frame in frames[1:]:
            video.observe("prd", frame)
        assert (await next_anchor_event(patient))["data"]["visible"]
        freeze = {"kind": "freeze", "producer_id": "prd", "media_time_s": 0.1}
        await video.on_events(room.handle(EXPERT, freeze))
        assert (await video.still_png("prd")).startswith(b"\x89PNG")
        await video.on_events(room.handle(EXPERT, {"kind": "undo"}))
        assert video.tracked_marks("prd") == []
        await video.close()


async def test_works_with_a_bare_log_and_a_publish_callback() -> None:
    log = AnnotationLog()
    published: list[AnnotationEvent] = []
    arrived = asyncio.Event()

    def publish(events: list[AnnotationEvent]) -> None:
        published.extend(events)
        arrived.set()

    video = AnnotationVideo(log, publish, ManualClock(datetime(2026, 3, 2, tzinfo=UTC)))
    image = scene()
    video.observe("prd", frame_at(image, 0))
    now = datetime(2026, 3, 2, tzinfo=UTC)
    rect = {"kind": "rectangle", "producer_id": "prd", "media_time_s": 0.0, "box": BOX}
    mark_id = log.apply(EXPERT, rect, now)[0].data["mark"]["mark_id"]
    await video.on_events(log.apply(EXPERT, {"kind": "pin", "mark_id": mark_id}, now))
    video.observe("prd", frame_at(image, 1, dx=16))
    await asyncio.wait_for(arrived.wait(), 10)
    [moved] = published
    assert moved.type is EventType.ANCHOR_MOVED
    assert moved.at == now
    anchor = log.anchor(mark_id)
    assert anchor is not None
    assert anchor.points[0] == pytest.approx((0.42 - 16 / W, 0.4), abs=2 / W)
    await video.close()


async def test_unfreeze_hands_the_annotated_still_over_for_the_ticket() -> None:
    stills: list[RenderedStill] = []

    async def attach(still: RenderedStill) -> None:
        stills.append(still)

    room = AnnotationRoom()
    video = AnnotationVideo(room.log, room.publish, on_still=attach, first_frame_timeout_s=0.2)
    image = scene()
    for t in range(3):
        video.observe("prd", frame_at(image, t, dx=10 * t))
    await video.on_events(
        room.handle(EXPERT, {"kind": "freeze", "producer_id": "prd", "media_time_s": 1 / 30})
    )
    rect = {"kind": "rectangle", "producer_id": "prd", "media_time_s": 1 / 30, "box": BOX}
    room.handle(EXPERT, rect)
    expected = render_marks(frame_at(image, 1, dx=10), room.log.marks_on("prd"))
    await video.on_events(room.handle(EXPERT, {"kind": "unfreeze", "producer_id": "prd"}))
    [still] = stills
    assert (still.producer_id, still.media_time_s, still.marks) == ("prd", 1 / 30, 1)
    decoded = cv2.imdecode(np.frombuffer(still.png, np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(decoded, expected)
    # A video unfrozen before any frame arrived, and none within the timeout: nothing to hand.
    await video.on_events(
        room.handle(EXPERT, {"kind": "freeze", "producer_id": "prd_new", "media_time_s": 0.0})
    )
    await video.on_events(room.handle(EXPERT, {"kind": "unfreeze", "producer_id": "prd_new"}))
    assert len(stills) == 1
    await video.close()
