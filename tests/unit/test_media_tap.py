"""The aiortc tap: version guard, marker-driven frame release, decode gating."""

from __future__ import annotations

import pytest
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from media.tap import (
    MarkerJitterBuffer,
    TappedFrame,
    TapQueue,
    UnsupportedAiortcError,
    check_aiortc_version,
)

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)


def _packet(seq: int, timestamp: int, data: bytes, marker: bool = False) -> RtpPacket:
    packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=timestamp)
    packet.marker = int(marker)
    packet._data = data  # type: ignore[attr-defined]
    return packet


def test_other_aiortc_versions_are_refused_with_a_clear_error() -> None:
    with pytest.raises(UnsupportedAiortcError, match=r"aiortc==1\.16\.0"):
        check_aiortc_version("1.17.0")
    check_aiortc_version()  # the installed one is the pinned one


def test_frame_is_released_on_its_marker_packet() -> None:
    buffer = MarkerJitterBuffer(capacity=128, is_video=True)
    assert buffer.add(_packet(10, 3000, b"ab")) == (False, None)
    assert buffer.add(_packet(11, 3000, b"cd")) == (False, None)
    pli, frame = buffer.add(_packet(12, 3000, b"ef", marker=True))
    assert not pli
    assert frame is not None
    assert (frame.data, frame.timestamp) == (b"abcdef", 3000)
    # The next frame is independent of the first.
    _, second = buffer.add(_packet(13, 6000, b"gh", marker=True))
    assert second is not None
    assert second.data == b"gh"


def test_reordered_packets_wait_for_the_gap() -> None:
    buffer = MarkerJitterBuffer(capacity=128, is_video=True)
    buffer.add(_packet(20, 100, b"1"))
    assert buffer.add(_packet(22, 100, b"3", marker=True)) == (False, None)
    _, frame = buffer.add(_packet(21, 100, b"2"))
    assert frame is not None
    assert frame.data == b"123"


def test_missing_marker_falls_back_to_the_next_timestamp() -> None:
    buffer = MarkerJitterBuffer(capacity=128, is_video=True)
    buffer.add(_packet(1, 100, b"x"))
    _, frame = buffer.add(_packet(2, 200, b"y"))
    assert frame is not None
    assert (frame.data, frame.timestamp) == (b"x", 100)


def test_tap_queue_feeds_the_decoder_only_while_enabled() -> None:
    seen: list[int] = []
    tap = TapQueue(lambda codec, frame: seen.append(frame.timestamp))
    tap.put((VP8, JitterFrame(b"a", 1)))
    assert tap.empty()
    tap.decode_enabled = True
    tap.put((VP8, JitterFrame(b"b", 2)))
    assert tap.get_nowait()[1].timestamp == 2
    assert seen == [1, 2]
    assert tap.decoded_frames == 1


def test_tap_queue_always_passes_the_stop_signal() -> None:
    tap = TapQueue(lambda codec, frame: None)
    tap.put(None)
    assert tap.get_nowait() is None


def test_frame_after_packets_given_up_is_flagged() -> None:
    buffer = MarkerJitterBuffer(capacity=4, is_video=True)
    released = []
    for seq in (10, 12, 13, 14, 15, 16):  # 11 never arrives
        _, frame = buffer.add(_packet(seq, seq * 100, bytes([seq]), marker=True))
        if frame is not None:
            assert isinstance(frame, TappedFrame)
            released.append((frame.data[0], frame.after_gap))
    assert released[0] == (10, False)
    assert released[1][1] is True  # the first frame released after giving up on 11
    assert all(not gap for _, gap in released[2:])
    assert [data for data, _ in released] == sorted(data for data, _ in released)
