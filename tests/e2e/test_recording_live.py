"""Recording a live WebRTC publisher through the media router (real aiortc peers, loopback)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import av
import pytest

from media.loopback import Publisher, start_publisher
from media.producer import Producer
from media.recording.manifest import Manifest
from media.recording.policy import RecordingPolicy
from media.recording.probe import probe_file
from media.recording.recording import RecordableProducer, Recording
from media.recording.state import RecordingState
from media.router import Router
from media.synthetic import StampedVideoTrack, ToneAudioTrack, read_stamp
from sessions.clock import SystemClock

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

WIDTH, HEIGHT, FPS = 320, 240, 15.0
RECORD_S = 6.0


def _is_recordable(producer: Producer) -> RecordableProducer:
    # Type-level check that the router's Producer is what the Recording expects.
    return producer


@pytest.fixture
async def router() -> AsyncIterator[Router]:
    router = Router("ses_live", pli_interval_s=1.0)
    yield router
    await router.close()


async def _publish(router: Router) -> Publisher:
    async def signal(offer: str) -> str:
        return (await router.publish("alice", offer)).answer_sdp

    return await start_publisher([StampedVideoTrack(WIDTH, HEIGHT, FPS), ToneAudioTrack()], signal)


def _stamps(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        return [
            stamp.counter
            for frame in container.decode(video=0)
            if (stamp := read_stamp(frame)) is not None
        ]


async def _record(router: Router, root: Path) -> Manifest:
    recording = Recording(
        root=root,
        session_id="ses_live",
        ticket_id="tkt_live",
        ticket_kind="device_fault",
        policy=RecordingPolicy.FULL,
        clock=SystemClock(),
    )
    await recording.start()
    recording.participant_joined("alice")
    for producer in router.producers():
        recording.add_producer(_is_recordable(producer))
    recording.answer_consent("alice", granted=True)
    await asyncio.sleep(RECORD_S)
    manifest = await recording.stop()
    await recording.close()
    return manifest


async def test_live_publisher_is_recorded_without_decoding(router: Router, tmp_path: Path) -> None:
    publisher = await _publish(router)
    try:
        for _ in range(100):
            if len(router.producers()) == 2 and all(p.frames_received for p in router.producers()):
                break
            await asyncio.sleep(0.1)
        manifest = await _record(router, tmp_path)
    finally:
        await publisher.close()

    assert manifest.state is RecordingState.COMPLETE
    assert sorted(t.kind for t in manifest.tracks) == ["audio", "video"]
    assert all(p.decoded_frames == 0 for p in router.producers())
    directory = tmp_path / manifest.recording_id
    probes = {
        t.kind: await asyncio.to_thread(probe_file, directory / t.file) for t in manifest.tracks
    }
    video = next(t for t in manifest.tracks if t.kind == "video")
    # The recorder asked for a keyframe, so video starts soon after consent (PLI every 1 s).
    assert video.start_media_s is not None
    assert video.start_media_s < 2.5
    assert probes["video"].duration_s == pytest.approx(RECORD_S - video.start_media_s, abs=1.0)
    assert probes["audio"].duration_s == pytest.approx(RECORD_S, abs=1.0)
    counters = await asyncio.to_thread(_stamps, directory / video.file)
    assert all(b > a for a, b in itertools.pairwise(counters))
    span = counters[-1] - counters[0] + 1
    assert len(counters) >= 0.9 * span
