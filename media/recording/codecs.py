"""The codecs a recording can remux, and what the muxer needs to know about them."""

from __future__ import annotations

from enum import StrEnum

from sessions.exceptions import ValidationError

_VP8_START_CODE = b"\x9d\x01\x2a"


class TrackCodec(StrEnum):
    """A codec accepted for remuxing into WebM, by its MIME type."""

    VP8 = "video/VP8"
    OPUS = "audio/opus"

    @classmethod
    def from_mime(cls, mime: str) -> TrackCodec:
        """Parse a MIME type such as ``video/VP8`` (case-insensitive)."""
        for codec in cls:
            if codec.value.lower() == mime.lower():
                return codec
        raise ValidationError(f"codec {mime} cannot be recorded without transcoding", codec=mime)

    @property
    def kind(self) -> str:
        """``video`` or ``audio``."""
        return self.value.split("/", 1)[0]

    @property
    def clock_rate(self) -> int:
        """The RTP clock rate, i.e. the packets' time base denominator."""
        return 90000 if self is TrackCodec.VP8 else 48000


def vp8_frame_size(data: bytes) -> tuple[int, int] | None:
    """Return (width, height) from a VP8 keyframe's header, or None if it is not one."""
    # RFC 6386 section 9.1: 3-byte frame tag (bit 0 clear on keyframes), start code,
    # then 14-bit little-endian width and height (the top two bits are scaling).
    if len(data) < 10 or data[0] & 1 or data[3:6] != _VP8_START_CODE:
        return None
    width = int.from_bytes(data[6:8], "little") & 0x3FFF
    height = int.from_bytes(data[8:10], "little") & 0x3FFF
    return width, height
