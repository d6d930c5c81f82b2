"""A 10 s full-policy recording of marker video and a tone, probed with PyAV (issue 7)."""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest

from media.recording.consent import Indicator
from media.recording.manifest import Manifest, TimelineKind, read_manifest
from media.recording.policy import RecordingPolicy
from media.recording.probe import probe_file
from media.recording.recording import Recording
from media.recording.state import RecordingState
from media.recording.synthetic import SyntheticProducer, opus_packets, vp8_packets
from sessions.clock import ManualClock

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECONDS = 10
FPS = 30

Schedule = list[tuple[float, SyntheticProducer, av.Packet, bool]]


@functools.cache
def _encoded() -> tuple[list[tuple[av.Packet, bool]], list[tuple[av.Packet, bool]]]:
    # Encoded once per run; producers hand observers copies, so the packets stay intact.
    # RTP timestamps start just below the 32-bit wrap, as a real sender's random start may.
    video = list(vp8_packets(SECONDS * FPS, fps=FPS, rtp_start=(1 << 32) - 90000))
    audio = list(opus_packets(SECONDS, rtp_start=(1 << 32) - 24000))
    return video, audio


def _schedule() -> tuple[Schedule, SyntheticProducer, SyntheticProducer, SyntheticProducer]:
    camera = SyntheticProducer("alice", "video/VP8")
    microphone = SyntheticProducer("alice", "audio/opus")
    declined = SyntheticProducer("bob", "video/VP8")
    video, audio = _encoded()
    items: Schedule = []
    for index, (packet, key) in enumerate(video):
        items += [(index / FPS, camera, packet, key), (index / FPS, declined, packet, key)]
    for index, (packet, key) in enumerate(audio):
        items.append((index * 0.02, microphone, packet, key))
    items.sort(key=lambda item: item[0])
    return items, camera, microphone, declined


async def _record(root: Path) -> tuple[Recording, Manifest]:
    clock = ManualClock(START)
    recording = Recording(
        root=root,
        session_id="ses_test",
        ticket_id="tkt_test",
        ticket_kind="device_fault",
        policy=RecordingPolicy.FULL,
        clock=clock,
        queue_size=4096,
    )
    await recording.start()
    items, camera, microphone, declined = await asyncio.to_thread(_schedule)
    recording.participant_joined("alice")
    recording.participant_joined("bob")
    for producer in (camera, microphone, declined):
        recording.add_producer(producer)
    assert recording.indicator("alice") is Indicator.CONSENT_REQUESTED
    recording.answer_consent("alice", granted=True)
    recording.answer_consent("bob", granted=False)
    assert recording.state is RecordingState.RECORDING
    assert recording.indicator("bob") is Indicator.RECORDING_OTHERS
    events = {2.0: "circle", 5.5: "arrow", 7.25: "chat"}
    for index, (at, producer, packet, key) in enumerate(items):
        for when in [w for w in events if w <= at]:
            clock.set(START + timedelta(seconds=when))
            kind = TimelineKind.CHAT if events[when] == "chat" else TimelineKind.ANNOTATION
            recording.record_event(kind, {"what": events.pop(when)}, actor="alice")
        clock.set(START + timedelta(seconds=at))
        producer.emit(packet, key)
        if index % 50 == 0:
            await asyncio.sleep(0)
    clock.set(START + timedelta(seconds=SECONDS))
    await recording.close()
    return recording, await asyncio.to_thread(read_manifest, recording.directory)


async def test_ten_second_recording_matches_what_was_sent(tmp_path: Path) -> None:
    recording, manifest = await _record(tmp_path)

    assert manifest.state is RecordingState.COMPLETE
    assert {(t.participant_id, t.kind) for t in manifest.tracks} == {
        ("alice", "video"),
        ("alice", "audio"),
    }
    files = sorted(p.name for p in recording.directory.glob("*.webm"))
    assert files == sorted(t.file for t in manifest.tracks)  # nothing of bob on disk
    for track in manifest.tracks:
        probe = await asyncio.to_thread(probe_file, recording.directory / track.file, True)
        assert probe.error is None
        assert track.start_media_s == pytest.approx(0.0, abs=0.05)
        assert probe.duration_s == pytest.approx(SECONDS, abs=0.5)
        expected = SECONDS * (FPS if track.kind == "video" else 50)
        assert probe.frames == pytest.approx(expected, rel=0.05)
        if track.kind == "video":
            assert probe.markers == list(range(SECONDS * FPS))


async def test_manifest_events_sit_at_their_media_times(tmp_path: Path) -> None:
    _, manifest = await _record(tmp_path)

    found = {
        e.data["what"]: e.media_s
        for e in manifest.timeline
        if e.kind in (TimelineKind.ANNOTATION, TimelineKind.CHAT)
    }
    assert found == {"circle": 2.0, "arrow": 5.5, "chat": 7.25}
    kinds = [e.kind for e in manifest.timeline]
    assert kinds.count(TimelineKind.JOIN) == 2
    consent = [e for e in manifest.timeline if e.kind is TimelineKind.CONSENT]
    assert [(e.actor, e.data["granted"]) for e in consent] == [("alice", True), ("bob", False)]
    assert [e.media_s for e in manifest.timeline] == sorted(e.media_s for e in manifest.timeline)
