"""Recording behaviour around consent, policies, encryption and failures (short clips)."""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest
from blockbuster import blockbuster_ctx

from media.recording.consent import Indicator
from media.recording.crypto import DecryptingReader
from media.recording.manifest import TimelineKind, read_manifest
from media.recording.policy import RecordingPolicy
from media.recording.probe import probe_file
from media.recording.recording import Recording
from media.recording.state import RecordingState
from media.recording.synthetic import SyntheticProducer, vp8_packets
from sessions.clock import ManualClock
from sessions.exceptions import ValidationError

START = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
KEY = bytes(range(32))


@functools.cache
def _clip() -> list[tuple[av.Packet, bool]]:
    # 3 s at 15 fps; keyframes every 2 s, i.e. frames 0 and 30.
    return list(vp8_packets(45, 320, 240, fps=15))


CLOCK = ManualClock(START)


def _recording(tmp_path: Path, policy: RecordingPolicy, key: bytes | None = None) -> Recording:
    CLOCK.set(START)
    return Recording(
        root=tmp_path,
        session_id="ses_p",
        ticket_id="tkt_p",
        ticket_kind="guided_exercise",
        policy=policy,
        clock=CLOCK,
        encryption_key=key,
    )


async def _play(recording: Recording, producer: SyntheticProducer, frames: range) -> None:
    clip = await asyncio.to_thread(_clip)
    for index in frames:
        CLOCK.set(START + timedelta(seconds=index / 15))
        producer.emit(*clip[index])
        await asyncio.sleep(0)


async def test_nothing_is_written_before_consent(tmp_path: Path) -> None:
    recording = _recording(tmp_path, RecordingPolicy.FULL)
    await recording.start()
    camera = SyntheticProducer("alice", "video/VP8")
    recording.participant_joined("alice")
    recording.add_producer(camera)
    await _play(recording, camera, range(0, 15))
    assert recording.state is RecordingState.PENDING_CONSENT
    assert recording.tracks() == []
    recording.answer_consent("alice", granted=True)
    await _play(recording, camera, range(15, 45))
    await recording.close()

    [track] = read_manifest(recording.directory).tracks
    # Recording began at the first keyframe after consent (frame 30, the 2 s mark).
    assert track.start_media_s == pytest.approx(2.0)
    probe = await asyncio.to_thread(probe_file, recording.directory / track.file, True)
    assert probe.markers == list(range(30, 45))


async def test_withdrawn_consent_stops_that_participant_only(tmp_path: Path) -> None:
    recording = _recording(tmp_path, RecordingPolicy.FULL)
    await recording.start()
    alice, bob = SyntheticProducer("alice", "video/VP8"), SyntheticProducer("bob", "video/VP8")
    for producer in (alice, bob):
        recording.participant_joined(producer.participant_id)
        recording.add_producer(producer)
        recording.answer_consent(producer.participant_id, granted=True)
    clip = await asyncio.to_thread(_clip)
    for index in range(45):
        if index == 20:
            recording.answer_consent("bob", granted=False)
            assert recording.indicator("bob") is Indicator.RECORDING_OTHERS
        alice.emit(*clip[index])
        bob.emit(*clip[index])
        await asyncio.sleep(0)
    await recording.close()

    manifest = read_manifest(recording.directory)
    frames = {
        t.participant_id: (await asyncio.to_thread(probe_file, recording.directory / t.file))
        for t in manifest.tracks
    }
    assert frames["alice"].frames == 45
    assert frames["bob"].frames == 20
    stopped = [e for e in manifest.timeline if e.kind is TimelineKind.TRACK_STOPPED]
    assert [e.actor for e in stopped] == ["bob", "alice"]


async def test_metrics_only_writes_the_timeline_and_no_media(tmp_path: Path) -> None:
    recording = _recording(tmp_path, RecordingPolicy.METRICS_ONLY)
    await recording.start()
    assert recording.state is RecordingState.RECORDING
    camera = SyntheticProducer("alice", "video/VP8")
    assert recording.participant_joined("alice") == []
    recording.add_producer(camera)
    await _play(recording, camera, range(45))
    recording.record_event(TimelineKind.ANALYSIS, {"rep": 1, "knee_angle": 92.5})
    await recording.close()

    assert sorted(p.name for p in recording.directory.iterdir()) == [
        "manifest.json",
        "timeline.jsonl",
    ]
    manifest = read_manifest(recording.directory)
    assert manifest.tracks == []
    assert any(e.kind is TimelineKind.ANALYSIS for e in manifest.timeline)
    assert recording.indicator("alice") is Indicator.OFF  # it is over


async def test_encrypted_at_rest_and_decrypts_to_a_playable_file(tmp_path: Path) -> None:
    recording = _recording(tmp_path, RecordingPolicy.FULL, key=KEY)
    await recording.start()
    camera = SyntheticProducer("alice", "video/VP8")
    recording.participant_joined("alice")
    recording.add_producer(camera)
    recording.answer_consent("alice", granted=True)
    await _play(recording, camera, range(45))
    await recording.close()

    [track] = read_manifest(recording.directory).tracks
    assert track.encrypted
    assert track.file.endswith(".webm.enc")
    assert not list(recording.directory.glob("*.webm"))
    plain = tmp_path / "decrypted.webm"
    plain.write_bytes(DecryptingReader(recording.directory / track.file, KEY).read_all())
    assert (await asyncio.to_thread(probe_file, plain)).frames == 45


def test_policy_off_records_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        _recording(tmp_path, RecordingPolicy.OFF)


async def test_close_is_idempotent(tmp_path: Path) -> None:
    recording = _recording(tmp_path, RecordingPolicy.FULL)
    await recording.start()
    await recording.close()
    await recording.close()
    assert recording.state is RecordingState.COMPLETE


async def test_nothing_blocks_the_event_loop(tmp_path: Path) -> None:
    clip = await asyncio.to_thread(_clip)
    # blockbuster raises on any blocking call (file I/O, sleep, ...) made on the loop.
    with blockbuster_ctx():
        recording = _recording(tmp_path, RecordingPolicy.FULL, key=KEY)
        await recording.start()
        camera = SyntheticProducer("alice", "video/VP8")
        recording.participant_joined("alice")
        recording.add_producer(camera)
        recording.answer_consent("alice", granted=True)
        for index, (packet, keyframe) in enumerate(clip):
            camera.emit(packet, keyframe)
            recording.record_event(TimelineKind.CHAT, {"n": index}, actor="alice")
            await asyncio.sleep(0)
        recording.answer_consent("alice", granted=False)
        await recording.close()
    assert recording.state is RecordingState.COMPLETE
    assert [t.encrypted for t in recording.tracks()] == [True]


async def test_late_joiner_is_recorded_only_after_their_answer(tmp_path: Path) -> None:
    recording = _recording(tmp_path, RecordingPolicy.FULL)
    await recording.start()
    alice, carol = SyntheticProducer("alice", "video/VP8"), SyntheticProducer("carol", "video/VP8")
    recording.participant_joined("alice")
    recording.add_producer(alice)
    recording.answer_consent("alice", granted=True)
    clip = await asyncio.to_thread(_clip)
    for index in range(45):
        CLOCK.set(START + timedelta(seconds=index / 15))
        if index == 5:
            assert [e.participant_id for e in recording.participant_joined("carol")] == ["carol"]
            recording.add_producer(carol)
            assert recording.indicator("carol") is Indicator.CONSENT_REQUESTED
            assert recording.indicator("alice") is Indicator.RECORDING
        if index == 25:
            recording.answer_consent("carol", granted=True)
        alice.emit(*clip[index])
        carol.emit(*clip[index])
        await asyncio.sleep(0)
    await recording.close()
    assert recording.participant_joined("dave") == []  # over: nobody is asked any more

    tracks = {t.participant_id: t for t in read_manifest(recording.directory).tracks}
    assert tracks["alice"].start_media_s == pytest.approx(0.0)
    # carol's track waited for her answer (1.67 s), then for the next keyframe (frame 30).
    assert tracks["carol"].start_media_s == pytest.approx(2.0)
    probe = await asyncio.to_thread(probe_file, recording.directory / tracks["carol"].file, True)
    assert probe.markers == list(range(30, 45))
