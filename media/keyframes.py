"""Tell keyframes from delta frames in depayloaded encoded frames (VP8, H.264, audio)."""

from __future__ import annotations

_H264_IDR = 5
_H264_SPS = 7


def is_vp8_keyframe(data: bytes) -> bool:
    """A VP8 frame tag has bit 0 clear for a keyframe, followed by the 9D 01 2A start code."""
    return len(data) >= 6 and (data[0] & 0x01) == 0 and data[3:6] == b"\x9d\x01\x2a"


def _h264_nal_types(data: bytes) -> list[int]:
    """Return the NAL unit types of an Annex B byte stream."""
    types: list[int] = []
    start = data.find(b"\x00\x00\x01")
    while start != -1 and start + 3 < len(data):
        types.append(data[start + 3] & 0x1F)
        start = data.find(b"\x00\x00\x01", start + 3)
    return types


def is_h264_keyframe(data: bytes) -> bool:
    """An H.264 access unit is a keyframe when it carries an IDR slice (or starts with SPS)."""
    types = _h264_nal_types(data)
    return _H264_IDR in types or (bool(types) and types[0] == _H264_SPS)


def is_keyframe(mime_type: str, data: bytes) -> bool:
    """Whether a subscriber can start decoding at this frame; every audio frame qualifies."""
    mime = mime_type.lower()
    if mime == "video/vp8":
        return is_vp8_keyframe(data)
    if mime == "video/h264":
        return is_h264_keyframe(data)
    return not mime.startswith("video/")
