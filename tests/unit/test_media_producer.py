"""Producer fan-out on a real (unconnected) aiortc receiver, fed through its tap."""

from __future__ import annotations

import av
from aiortc import RTCPeerConnection
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from media.producer import Producer
from media.tap import TappedFrame

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
KEY = b"\x00\x00\x00\x9d\x01\x2a" + bytes(20)
DELTA = b"\x01\x00\x00" + bytes(20)


async def test_delta_frames_after_a_gap_wait_for_the_next_keyframe() -> None:
    pc = RTCPeerConnection()
    transceiver = pc.addTransceiver("video", direction="recvonly")
    producer = Producer("alice", "video", VP8, transceiver.receiver)
    seen: list[tuple[int | None, bool]] = []

    def observe(packet: av.Packet, keyframe: bool) -> None:
        seen.append((packet.pts, keyframe))

    producer.add_packet_observer(observe)
    frames = [
        (KEY, 0, False),
        (DELTA, 3000, False),
        (DELTA, 9000, True),  # frames were lost just before this one
        (DELTA, 12000, False),
        (KEY, 15000, False),
        (DELTA, 18000, False),
    ]
    for data, timestamp, after_gap in frames:
        producer._tap.put((VP8, TappedFrame(data, timestamp, after_gap)))
    assert seen == [(0, True), (3000, False), (15000, True), (18000, False)]
    assert producer.frames_skipped == 2
    assert producer.decoded_frames == 0
    await producer.close()
    await producer.close()  # idempotent
    await pc.close()
