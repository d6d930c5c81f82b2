"""Signed links to recording files and HTTP Range parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from media.recording.errors import LinkExpiredError, LinkForgedError, RangeNotSatisfiableError
from media.recording.links import sign_link, verify_link
from media.recording.ranges import ByteRange, parse_range
from sessions.exceptions import PermissionDeniedError, ValidationError

KEY = b"k" * 32
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _verify(
    link_fields: dict[str, str], now: datetime = NOW, override: dict[str, str] | None = None
) -> None:
    fields = {**link_fields, **(override or {})}
    verify_link(
        KEY,
        fields["rec"],
        fields["file"],
        fields["viewer"],
        fields["exp"],
        fields["sig"],
        now,
    )


def _issued(ttl: timedelta = timedelta(minutes=5)) -> dict[str, str]:
    link = sign_link(KEY, "rec_1", "trk_a.webm", "expert-7", NOW, ttl)
    return {"rec": "rec_1", "file": "trk_a.webm", **link.query()}


def test_fresh_link_verifies() -> None:
    _verify(_issued())


def test_url_carries_the_fields() -> None:
    link = sign_link(KEY, "rec_1", "trk_a.webm", "expert-7", NOW)
    url = urlsplit(link.url())
    assert url.path == "/api/recordings/rec_1/files/trk_a.webm"
    assert parse_qs(url.query)["sig"] == [link.signature]


def test_link_expires() -> None:
    with pytest.raises(LinkExpiredError) as info:
        _verify(_issued(), now=NOW + timedelta(minutes=5))
    assert info.value.code == "link_expired"
    assert isinstance(info.value, PermissionDeniedError)


@pytest.mark.parametrize(
    "tamper",
    [
        {"rec": "rec_2"},
        {"file": "trk_b.webm"},
        {"viewer": "someone-else"},
        {"sig": "0" * 64},
    ],
)
def test_tampered_link_is_forged(tamper: dict[str, str]) -> None:
    with pytest.raises(LinkForgedError):
        _verify(_issued(), override=tamper)


def test_extended_expiry_is_forged_not_expired() -> None:
    fields = _issued()
    later = str(int(fields["exp"]) + 3600)
    with pytest.raises(LinkForgedError):
        _verify(fields, now=NOW + timedelta(minutes=30), override={"exp": later})


def test_malformed_expiry_is_forged() -> None:
    with pytest.raises(LinkForgedError):
        _verify(_issued(), override={"exp": "soon"})


def test_link_under_another_key_is_forged() -> None:
    link = sign_link(b"x" * 32, "rec_1", "trk_a.webm", "expert-7", NOW)
    with pytest.raises(LinkForgedError):
        _verify({"rec": "rec_1", "file": "trk_a.webm", **link.query()})


@pytest.mark.parametrize("ttl", [timedelta(0), timedelta(hours=2)])
def test_lifetime_is_bounded(ttl: timedelta) -> None:
    with pytest.raises(ValidationError):
        sign_link(KEY, "rec_1", "f", "v", NOW, ttl)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", ByteRange(0, 99, 1000)),
        ("bytes=900-", ByteRange(900, 999, 1000)),
        ("bytes=990-2000", ByteRange(990, 999, 1000)),
        ("bytes=-100", ByteRange(900, 999, 1000)),
        ("bytes=-5000", ByteRange(0, 999, 1000)),
        (None, None),
        ("bytes=0-1,5-9", None),
        ("items=0-5", None),
        ("bytes=50-10", None),
    ],
)
def test_range_parsing(header: str | None, expected: ByteRange | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_range_outside_the_file_is_416(header: str) -> None:
    with pytest.raises(RangeNotSatisfiableError) as info:
        parse_range(header, 1000)
    assert info.value.size == 1000


def test_content_range_header() -> None:
    byte_range = parse_range("bytes=10-19", 1000)
    assert byte_range is not None
    assert byte_range.length == 10
    assert byte_range.content_range() == "bytes 10-19/1000"
