"""Codec names and the VP8 keyframe header the writer reads the frame size from."""

from __future__ import annotations

import pytest

from media.recording.codecs import TrackCodec, vp8_frame_size
from media.recording.synthetic import vp8_packets
from sessions.exceptions import ValidationError


@pytest.mark.parametrize(
    ("mime", "codec"), [("video/VP8", TrackCodec.VP8), ("audio/OPUS", TrackCodec.OPUS)]
)
def test_mime_types(mime: str, codec: TrackCodec) -> None:
    assert TrackCodec.from_mime(mime) is codec


@pytest.mark.parametrize("mime", ["video/H264", "video/VP9", "audio/PCMU"])
def test_codecs_that_would_need_transcoding_are_refused(mime: str) -> None:
    with pytest.raises(ValidationError):
        TrackCodec.from_mime(mime)


def test_kinds_and_clock_rates() -> None:
    assert (TrackCodec.VP8.kind, TrackCodec.VP8.clock_rate) == ("video", 90000)
    assert (TrackCodec.OPUS.kind, TrackCodec.OPUS.clock_rate) == ("audio", 48000)


def test_frame_size_from_a_real_keyframe_and_none_from_others() -> None:
    packets = list(vp8_packets(3, 320, 240, fps=15))
    sizes = [vp8_frame_size(bytes(packet)) for packet, _ in packets]
    assert sizes[0] == (320, 240)
    assert [key for _, key in packets] == [True, False, False]
    assert sizes[1:] == [None, None]
    assert vp8_frame_size(b"\x00\x01") is None
