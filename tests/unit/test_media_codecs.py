"""Keyframe detection on real encoder output, and stamps surviving real VP8 compression."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import cast

import av
import numpy as np
import pytest
from aiortc.codecs.vpx import Vp8Decoder, Vp8Encoder, vp8_depayload
from aiortc.jitterbuffer import JitterFrame
from av.video.codeccontext import VideoCodecContext

from media.keyframes import is_h264_keyframe, is_keyframe, is_vp8_keyframe
from media.synthetic import Stamp, StampedVideoTrack, bits_stamp, read_stamp, stamp_bits


def _encode(codec_name: str, count: int) -> list[av.Packet]:
    codec = cast(VideoCodecContext, av.CodecContext.create(codec_name, "w"))
    codec.width, codec.height, codec.pix_fmt = 320, 240, "yuv420p"
    codec.time_base = Fraction(1, 30)
    codec.gop_size = 10
    track = StampedVideoTrack(320, 240)
    packets: list[av.Packet] = []
    for i in range(count):
        frame = track.make_frame(i)
        frame.pts, frame.time_base = i, Fraction(1, 30)
        packets.extend(codec.encode(frame))
    packets.extend(codec.encode(None))
    return packets


@pytest.mark.parametrize(
    ("codec_name", "detect"), [("libvpx", is_vp8_keyframe), ("libx264", is_h264_keyframe)]
)
def test_keyframe_detection_agrees_with_the_encoder(
    codec_name: str, detect: Callable[[bytes], bool]
) -> None:
    packets = _encode(codec_name, 25)
    flags = [detect(bytes(p)) for p in packets]
    assert flags == [p.is_keyframe for p in packets]
    assert flags[0] is True
    assert flags.count(True) >= 2  # gop 10 over 25 frames


def test_audio_frames_are_always_decodable_starts() -> None:
    assert is_keyframe("audio/opus", b"\x01\x02")
    assert not is_keyframe("video/VP8", b"\x01\x00\x00\x00\x00\x00")
    assert not is_keyframe("video/H264", b"")


def test_stamp_bits_round_trip_and_checksum() -> None:
    stamp = Stamp(counter=0xABCDE, sent_ms=0xDEADBEEF)
    bits = stamp_bits(stamp)
    assert len(bits) == 64
    assert bits_stamp(bits) == stamp
    bits[10] ^= 1
    assert bits_stamp(bits) is None


@pytest.mark.parametrize(
    ("width", "height", "detail"),
    [(640, 480, "ramp"), (1280, 720, "ramp"), (640, 480, "noise"), (1280, 720, "noise")],
)
def test_stamp_survives_vp8_at_its_lowest_bitrate(width: int, height: int, detail: str) -> None:
    encoder, decoder = Vp8Encoder(), Vp8Decoder()
    encoder.target_bitrate = 1  # clamped to aiortc's minimum
    track = StampedVideoTrack(width, height, detail=detail)
    read: list[int] = []
    for i in range(30):
        payloads, timestamp = encoder.encode(track.make_frame(i))
        # Reassemble the frame the way a receiver does: payload descriptors stripped.
        data = b"".join(vp8_depayload(p) for p in payloads)
        for frame in decoder.decode(JitterFrame(data, timestamp)):
            assert isinstance(frame, av.VideoFrame)
            stamp = read_stamp(frame)
            assert stamp is not None
            read.append(stamp.counter)
    assert read == list(range(30))


def test_unstamped_frame_reads_as_none() -> None:
    gray = np.full((480 * 3 // 2, 640), 128, dtype=np.uint8)
    assert read_stamp(av.VideoFrame.from_ndarray(gray, format="yuv420p")) is None
