"""Annotated MP4 export as a background job."""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from media.recording.export import ExportRunner, ExportState, render_annotated_mp4
from media.recording.manifest import TimelineKind
from media.recording.policy import RecordingPolicy
from media.recording.recording import Recording
from media.recording.synthetic import SyntheticProducer, opus_packets, read_marker, vp8_packets
from sessions.clock import ManualClock
from sessions.exceptions import NotFoundError

START = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
KEY = bytes(32)
FPS = 15


@functools.cache
def _clip() -> list[tuple[av.Packet, bool]]:
    return list(vp8_packets(3 * FPS, 320, 240, fps=FPS))


@functools.cache
def _tone() -> list[tuple[av.Packet, bool]]:
    return list(opus_packets(3.0))


def _mark_event(kind: str, camera: str) -> dict[str, Any]:
    if kind == "mark_removed":
        return {"type": "mark_removed", "data": {"mark_id": "mrk_1"}}
    shape = {
        "kind": "rectangle",
        "producer_id": camera,
        "media_time_s": 1.0,
        "box": {"x0": 0.25, "y0": 0.5, "x1": 0.75, "y1": 0.9},
        "colour": "#00ff00",
        "width": 0.02,
    }
    return {"type": "mark_added", "data": {"mark": {"mark_id": "mrk_1", "shape": shape}}}


async def _recorded(root: Path, key: bytes | None = None) -> Recording:
    clock = ManualClock(START)
    recording = Recording(
        root=root,
        session_id="ses_e",
        ticket_id="tkt_e",
        ticket_kind="device_fault",
        policy=RecordingPolicy.FULL,
        clock=clock,
        encryption_key=key,
    )
    await recording.start()
    camera = SyntheticProducer("alice", "video/VP8")
    microphone = SyntheticProducer("alice", "audio/opus")
    recording.participant_joined("alice")
    recording.add_producer(camera)
    recording.add_producer(microphone)
    recording.answer_consent("alice", granted=True)
    clip = await asyncio.to_thread(_clip)
    tone = await asyncio.to_thread(_tone)
    items = [(i / FPS, i, camera, p, k) for i, (p, k) in enumerate(clip)]
    items += [(j * 0.02, -1, microphone, p, k) for j, (p, k) in enumerate(tone)]
    for at, index, producer, packet, keyframe in sorted(items, key=lambda item: item[0]):
        clock.set(START + timedelta(seconds=at))
        if index == FPS:
            recording.record_event(TimelineKind.ANNOTATION, _mark_event("mark_added", camera.id))
            recording.record_event(TimelineKind.ANALYSIS, {"message": "rep 1: knees too far"})
        if index == 2 * FPS:
            recording.record_event(TimelineKind.ANNOTATION, _mark_event("mark_removed", camera.id))
        producer.emit(packet, keyframe)
        await asyncio.sleep(0)
    await recording.close()
    return recording


def _frames(path: Path) -> list[np.ndarray[Any, Any]]:
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _audio_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        assert container.streams.audio[0].codec_context.name == "opus"
        return sum(f.samples for f in container.decode(audio=0)) / 48000


def _green_edge(frame: np.ndarray[Any, Any]) -> bool:
    red, green, blue = (int(v) for v in frame[120, 160])  # on the rectangle's top edge
    return green > 180 and red < 90 and blue < 90


async def test_export_draws_annotations_at_their_times(tmp_path: Path) -> None:
    recording = await _recorded(tmp_path / "rec")
    runner = ExportRunner()
    try:
        job = runner.submit(recording.directory, tmp_path / "out.mp4")
        done = await runner.wait(job.id)
    finally:
        runner.close()
    assert (done.state, done.error, done.progress) == (ExportState.DONE, None, 1.0)

    frames = await asyncio.to_thread(_frames, tmp_path / "out.mp4")
    assert len(frames) == done.frames == 3 * FPS
    assert [read_marker(f) for f in frames] == list(range(3 * FPS))
    shown = [i for i, frame in enumerate(frames) if _green_edge(frame)]
    assert shown == list(range(FPS, 2 * FPS))
    # The analysis message is drawn as a banner at the bottom while it is fresh.
    banner = [float(np.abs(f[220:240].astype(int) - frames[0][220:240]).mean()) for f in frames]
    assert banner[FPS + 2] > banner[FPS - 2] + 1.0
    # The microphone was copied along, not re-encoded, and lasts as long as the video.
    assert await asyncio.to_thread(_audio_seconds, tmp_path / "out.mp4") == pytest.approx(
        3.0, abs=0.15
    )


async def test_export_of_an_encrypted_recording(tmp_path: Path) -> None:
    recording = await _recorded(tmp_path / "rec", key=KEY)
    frames = await asyncio.to_thread(
        render_annotated_mp4, recording.directory, tmp_path / "out.mp4", key=KEY
    )
    assert frames == 3 * FPS


async def test_export_of_a_running_recording_fails_and_says_why(tmp_path: Path) -> None:
    recording = Recording(
        root=tmp_path,
        session_id="ses_r",
        ticket_id="tkt_r",
        ticket_kind="device_fault",
        policy=RecordingPolicy.FULL,
        clock=ManualClock(START),
    )
    await recording.start()
    runner = ExportRunner()
    try:
        job = await runner.wait(runner.submit(recording.directory, tmp_path / "out.mp4").id)
    finally:
        runner.close()
        await recording.close()
    assert job.state is ExportState.FAILED
    assert job.error is not None
    assert "still being written" in job.error
    assert not (tmp_path / "out.mp4").exists()


def test_unknown_job_is_not_found() -> None:
    runner = ExportRunner()
    runner.close()
    with pytest.raises(NotFoundError):
        runner.status("exp_nope")
