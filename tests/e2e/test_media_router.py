"""The media router with real aiortc peers over loopback: forwarding, keyframes, lifecycle."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import av
import pytest
from aiortc import MediaStreamTrack
from aiortc.codecs import get_capabilities
from aiortc.rtcrtpparameters import RTCRtpCodecCapability

from media.events import (
    ConsumerClosed,
    ProducerPaused,
    ProducerRemoved,
    RouterEvent,
    TransportStateChanged,
)
from media.loopback import Publisher, Subscriber, start_publisher, wait_for
from media.router import Router, SubscribeResult
from media.synthetic import StampedVideoTrack, ToneAudioTrack, read_stamp
from sessions.exceptions import NotFoundError, ValidationError

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

# Small frames keep six encoders and decoders affordable on a shared two-core machine.
WIDTH, HEIGHT, FPS = 320, 240, 15.0
SETTLE_S = 20.0


@pytest.fixture
async def router() -> AsyncIterator[Router]:
    router = Router("ses_test", pli_interval_s=1.0)
    yield router
    await router.close()


class Peers:
    """Client peers of one test, closed at the end."""

    def __init__(self) -> None:
        self.closables: list[Publisher | Subscriber] = []

    async def publish(
        self,
        router: Router,
        participant_id: str,
        tracks: list[MediaStreamTrack],
        video_codec: RTCRtpCodecCapability | None = None,
    ) -> tuple[Publisher, list[str]]:
        producer_ids: list[str] = []

        async def signal(offer: str) -> str:
            result = await router.publish(participant_id, offer)
            producer_ids.extend(result.producer_ids)
            return result.answer_sdp

        publisher = await start_publisher(tracks, signal, video_codec)
        self.closables.append(publisher)
        return publisher, producer_ids

    async def subscribe(
        self, router: Router, participant_id: str, producer_ids: list[str], decode: bool = True
    ) -> tuple[Subscriber, SubscribeResult]:
        subscriber = Subscriber(decode=decode)
        self.closables.append(subscriber)
        result = await router.subscribe(participant_id, producer_ids)
        await router.accept_answer(result.transport_id, await subscriber.answer(result.offer_sdp))
        return subscriber, result

    async def close(self) -> None:
        for peer in self.closables:
            await peer.close()


@pytest.fixture
async def peers() -> AsyncIterator[Peers]:
    peers = Peers()
    yield peers
    await peers.close()


def _video_track() -> StampedVideoTrack:
    return StampedVideoTrack(WIDTH, HEIGHT, FPS)


async def test_three_participants_receive_each_others_video_and_audio(
    router: Router, peers: Peers
) -> None:
    names = ["alice", "bob", "carol"]
    published = {}
    for name in names:
        _, ids = await peers.publish(router, name, [_video_track(), ToneAudioTrack()])
        published[name] = ids
    subscribers = {}
    for name in names:
        others = [pid for other in names if other != name for pid in published[other]]
        subscribers[name], _ = await peers.subscribe(router, name, others)

    def enough() -> bool:
        return all(
            len(track.stamps) >= 30 and track.frames >= 30 if track.kind == "video" else True
            for sub in subscribers.values()
            for track in sub.tracks
        ) and all(t.frames >= 50 for s in subscribers.values() for t in s.tracks)

    ok = await wait_for(enough, SETTLE_S)
    assert ok, [
        (t.kind, t.frames, len(t.stamps), t.unreadable)
        for s in subscribers.values()
        for t in s.tracks
    ]
    for subscriber in subscribers.values():
        assert sorted(t.kind for t in subscriber.tracks) == ["audio", "audio", "video", "video"]
        for track in subscriber.video():
            counters = [s.counter for s in track.stamps]
            assert all(b > a for a, b in itertools.pairwise(counters)), counters
            span = counters[-1] - counters[0] + 1
            assert len(counters) >= 0.9 * span, f"too many gaps: {len(counters)} of {span}"
            # A frame decoded across a lost packet (the machine is shared and busy) can come
            # out garbled; the checksum rejects it rather than misreading it.
            assert track.unreadable <= 0.05 * len(counters)
    assert all(p.decoded_frames == 0 for p in router.producers())


async def test_late_subscriber_starts_on_a_keyframe_requested_by_pli(
    router: Router, peers: Peers
) -> None:
    publisher, (video_id,) = await peers.publish(router, "alice", [_video_track()])
    producer = router.producer(video_id)
    # aiortc's encoder sends a keyframe every 3000 frames: after the first one, only a
    # PLI makes another.
    assert await wait_for(lambda: producer.frames_received >= 30, SETTLE_S)
    requests_before = publisher.keyframe_requests["video"].count

    subscriber, _ = await peers.subscribe(router, "bob", [video_id])

    (track,) = subscriber.video()
    assert await wait_for(lambda: len(track.stamps) >= 10, SETTLE_S)
    assert track.first_is_keyframe is True
    assert track.unreadable == 0
    assert track.stamps[0].counter > 20  # it joined late, mid-stream
    assert publisher.keyframe_requests["video"].count > requests_before
    assert producer.plis_sent >= 1


async def test_pli_bursts_from_many_subscribers_are_rate_limited(
    router: Router, peers: Peers
) -> None:
    _, (video_id,) = await peers.publish(router, "alice", [_video_track()])
    producer = router.producer(video_id)
    assert await wait_for(lambda: producer.frames_received >= 15, SETTLE_S)
    loop = asyncio.get_running_loop()
    started, sent_before = loop.time(), producer.plis_sent
    subscribers = [
        (await peers.subscribe(router, f"viewer{i}", [video_id], decode=False))[0] for i in range(5)
    ]
    tracks = [s.video()[0] for s in subscribers]
    assert await wait_for(lambda: all(t.frames >= 5 for t in tracks), SETTLE_S)
    elapsed = loop.time() - started
    assert all(t.first_is_keyframe for t in tracks)
    # One PLI at once, then at most one per interval (the trailing one included).
    assert producer.plis_sent - sent_before <= 2 + int(elapsed / router.pli_interval_s)


async def test_forwarding_decodes_only_while_a_frame_observer_exists(
    router: Router, peers: Peers
) -> None:
    _, (video_id,) = await peers.publish(router, "alice", [_video_track()])
    subscriber, _ = await peers.subscribe(router, "bob", [video_id], decode=False)
    producer = router.producer(video_id)
    (track,) = subscriber.video()
    assert await wait_for(lambda: track.frames >= 30, SETTLE_S)
    assert producer.decoded_frames == 0

    frames: list[av.VideoFrame] = []
    producer.add_frame_observer(frames.append)
    assert await wait_for(lambda: len(frames) >= 10, SETTLE_S)
    assert producer.decoded_frames >= 10
    assert read_stamp(frames[-1]) is not None

    producer.remove_frame_observer(frames.append)
    decoded = producer.decoded_frames
    forwarded = track.frames
    assert await wait_for(lambda: track.frames >= forwarded + 15, SETTLE_S)
    assert producer.decoded_frames == decoded


async def test_packet_observer_gets_encoded_frames_without_decoding(
    router: Router, peers: Peers
) -> None:
    _, (video_id,) = await peers.publish(router, "alice", [_video_track()])
    producer = router.producer(video_id)
    packets: list[tuple[av.Packet, bool]] = []
    producer.add_packet_observer(lambda packet, key: packets.append((packet, key)))
    assert await wait_for(lambda: len(packets) >= 20 and any(k for _, k in packets), SETTLE_S)
    assert producer.decoded_frames == 0
    pts = [p.pts or 0 for p, _ in packets]
    assert pts == sorted(pts)
    assert packets[0][0].time_base.denominator == 90000


async def test_closing_a_participant_closes_its_producers_and_their_consumers(
    router: Router, peers: Peers
) -> None:
    events: list[RouterEvent] = []
    router.on_event(events.append)
    _, alice_ids = await peers.publish(router, "alice", [_video_track(), ToneAudioTrack()])
    _, bob_ids = await peers.publish(router, "bob", [ToneAudioTrack()])
    subscriber, result = await peers.subscribe(router, "carol", alice_ids + bob_ids)
    assert await wait_for(lambda: all(t.frames > 5 for t in subscriber.tracks), SETTLE_S)

    await router.close_participant("alice")

    assert [p.participant_id for p in router.producers()] == ["bob"]
    removed = {e.producer_id for e in events if isinstance(e, ProducerRemoved)}
    assert removed == set(alice_ids)
    closed = [e for e in events if isinstance(e, ConsumerClosed)]
    assert {e.consumer_id for e in closed} == set(result.consumer_ids[:2])
    assert not router.consumer(result.consumer_ids[2]).closed
    with pytest.raises(NotFoundError):
        router.producer(alice_ids[0])

    await router.close_participant("alice")  # idempotent
    await router.unsubscribe("carol", [result.consumer_ids[2]])
    with pytest.raises(NotFoundError):
        router.transport(result.transport_id)  # its last consumer left: the batch closed
    await router.close()
    await router.close()
    assert router.producers() == []
    carol_states = [
        e.state
        for e in events
        if isinstance(e, TransportStateChanged) and e.transport_id == result.transport_id
    ]
    assert carol_states == ["connecting", "connected", "closed"]


async def test_paused_producer_stops_forwarding_and_resumes_on_a_keyframe(
    router: Router, peers: Peers
) -> None:
    events: list[RouterEvent] = []
    router.on_event(events.append)
    _, (video_id,) = await peers.publish(router, "alice", [_video_track()])
    subscriber, result = await peers.subscribe(router, "bob", [video_id], decode=False)
    (track,) = subscriber.video()
    assert await wait_for(lambda: track.frames >= 10, SETTLE_S)

    router.pause_producer(video_id)
    assert router.consumer(result.consumer_ids[0]).producer_paused
    await asyncio.sleep(0.3)  # frames already in flight
    frozen, keyframes = track.frames, track.keyframes
    await asyncio.sleep(1.0)
    assert track.frames == frozen

    router.resume_producer(video_id)
    assert await wait_for(lambda: track.frames >= frozen + 10, SETTLE_S)
    assert track.keyframes > keyframes
    assert [e.paused for e in events if isinstance(e, ProducerPaused)] == [True, False]


async def test_h264_publisher_is_forwarded_as_h264(router: Router, peers: Peers) -> None:
    h264 = next(
        c
        for c in get_capabilities("video").codecs
        if c.mimeType == "video/H264" and c.parameters.get("packetization-mode") == "1"
    )
    _, (video_id,) = await peers.publish(router, "alice", [_video_track()], h264)
    assert router.producer(video_id).codec == "video/H264"
    subscriber, _ = await peers.subscribe(router, "bob", [video_id])
    (track,) = subscriber.video()
    assert await wait_for(lambda: len(track.stamps) >= 10, SETTLE_S)
    assert track.first_is_keyframe is True
    assert router.producer(video_id).decoded_frames == 0


async def test_trickled_candidates_are_accepted_and_checked(router: Router, peers: Peers) -> None:
    _, (video_id,) = await peers.publish(router, "alice", [_video_track()])
    result = await router.subscribe("bob", [video_id])
    candidate = {
        "candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
    }
    await router.add_ice_candidate(result.transport_id, candidate)
    await router.add_ice_candidate(result.transport_id, None)
    with pytest.raises(ValidationError):
        await router.add_ice_candidate(result.transport_id, {"candidate": "bogus", "sdpMid": "0"})
    with pytest.raises(NotFoundError):
        await router.add_ice_candidate("trp_missing", None)
