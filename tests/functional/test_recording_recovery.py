"""Recovery of recordings left open: torn files, torn timeline lines, encryption."""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av

from media.recording.crypto import DecryptingReader
from media.recording.manifest import (
    TIMELINE_NAME,
    Manifest,
    TimelineKind,
    read_manifest,
    write_manifest,
)
from media.recording.policy import RecordingPolicy
from media.recording.probe import probe_file
from media.recording.recording import Recording
from media.recording.recovery import recover_interrupted
from media.recording.state import RecordingState
from media.recording.synthetic import SyntheticProducer, vp8_packets
from sessions.clock import ManualClock

START = datetime(2026, 2, 1, 7, 0, tzinfo=UTC)
KEY = bytes(range(32))


@functools.cache
def _clip() -> list[tuple[av.Packet, bool]]:
    return list(vp8_packets(90, 320, 240, fps=15))


async def _left_open(root: Path) -> tuple[Path, Manifest]:
    """A finished 6 s recording turned back into what a killed server leaves."""
    clock = ManualClock(START)
    recording = Recording(
        root=root,
        session_id="ses_r",
        ticket_id="tkt_r",
        ticket_kind="device_fault",
        policy=RecordingPolicy.FULL,
        clock=clock,
    )
    await recording.start()
    camera = SyntheticProducer("alice", "video/VP8")
    recording.participant_joined("alice")
    recording.add_producer(camera)
    recording.answer_consent("alice", granted=True)
    for index, (packet, key) in enumerate(await asyncio.to_thread(_clip)):
        clock.set(START + timedelta(seconds=index / 15))
        camera.emit(packet, key)
        if index == 45:
            recording.record_event(TimelineKind.CHAT, {"text": "hold still"}, actor="alice")
        await asyncio.sleep(0)
    await recording.close()
    manifest = read_manifest(recording.directory)
    [track] = manifest.tracks
    path = recording.directory / track.file
    # Cut the file in the middle of its data, as a kill mid-cluster would.
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3 + 17])
    timeline_log = recording.directory / TIMELINE_NAME
    timeline_log.write_text(timeline_log.read_text() + '{"seq": 99, "media_s": 5.9, "ki')
    stale = manifest.model_copy(deep=True)
    stale.state = RecordingState.RECORDING
    stale.timeline = [e for e in stale.timeline if e.kind is TimelineKind.JOIN]
    stale.ended_at = None
    write_manifest(recording.directory, stale)
    return recording.directory, manifest


async def test_torn_file_is_finished_and_timeline_restored(tmp_path: Path) -> None:
    directory, original = await _left_open(tmp_path)

    [manifest] = await asyncio.to_thread(recover_interrupted, tmp_path)

    assert (manifest.state, manifest.reason) == (RecordingState.INTERRUPTED, "server_stopped")
    [track] = manifest.tracks
    probe = await asyncio.to_thread(probe_file, directory / track.file, True)
    assert probe.error is None
    assert 2.0 < probe.duration_s < 6.0
    assert probe.markers == list(range(len(probe.markers)))  # a clean prefix, in order
    assert track.packets == probe.frames
    with av.open(str(directory / track.file)) as container:
        assert container.duration is not None  # finished: the trailer is there
    chats = [e for e in manifest.timeline if e.kind is TimelineKind.CHAT]
    assert [e.data for e in chats] == [{"text": "hold still"}]
    # Everything the append-only log held (the torn last line skipped), then the recovery.
    assert manifest.timeline[:-1] == original.timeline
    assert manifest.timeline[-1].data == {"state": "interrupted", "reason": "server_stopped"}
    assert manifest.ended_at is not None
    assert read_manifest(directory) == manifest


async def test_recovery_encrypts_when_a_key_is_configured(tmp_path: Path) -> None:
    directory, _ = await _left_open(tmp_path)

    [manifest] = await asyncio.to_thread(recover_interrupted, tmp_path, KEY)

    [track] = manifest.tracks
    assert track.encrypted
    assert not list(directory.glob("*.webm"))
    plain = tmp_path / "plain.webm"
    plain.write_bytes(DecryptingReader(directory / track.file, KEY).read_all())
    assert (await asyncio.to_thread(probe_file, plain)).frames == track.packets


async def test_finished_recordings_are_left_alone(tmp_path: Path) -> None:
    directory, _ = await _left_open(tmp_path)
    await asyncio.to_thread(recover_interrupted, tmp_path)
    before = {p.name: p.stat().st_mtime_ns for p in directory.iterdir()}
    assert await asyncio.to_thread(recover_interrupted, tmp_path) == []
    assert {p.name: p.stat().st_mtime_ns for p in directory.iterdir()} == before
