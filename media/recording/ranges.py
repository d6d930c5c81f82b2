"""HTTP Range requests on recording files (RFC 9110 section 14), single ranges only."""

from __future__ import annotations

import re
from dataclasses import dataclass

from media.recording.errors import RangeNotSatisfiableError

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


@dataclass(frozen=True, slots=True)
class ByteRange:
    """An inclusive byte range inside a file of ``size`` bytes."""

    start: int
    """First byte."""
    end: int
    """Last byte (inclusive)."""
    size: int
    """Size of the whole file."""

    @property
    def length(self) -> int:
        """Number of bytes in the range."""
        return self.end - self.start + 1

    def content_range(self) -> str:
        """Return the ``Content-Range`` header value of a 206 response."""
        return f"bytes {self.start}-{self.end}/{self.size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """Parse a Range header; None means "send the whole file" (absent, multi-range, other unit).

    Raises RangeNotSatisfiableError (416) for a well-formed range that misses the file.
    """
    if header is None:
        return None
    match = _RANGE.match(header)
    if match is None:
        # RFC 9110 lets a server ignore a Range it does not support (multi-range, other
        # units, garbage) and answer 200 with the whole file; that is what we do.
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        # Suffix range: the last N bytes.
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiableError(f"range {header!r} is empty", size=size)
        return ByteRange(max(size - suffix, 0), size - 1, size)
    start = int(first)
    end = size - 1 if not last else min(int(last), size - 1)
    if last and int(last) < start:
        return None  # invalid byte-range-spec: ignored like any other malformed header
    if start >= size:
        raise RangeNotSatisfiableError(
            f"range {header!r} starts beyond the end of a {size}-byte file", size=size
        )
    return ByteRange(start, end, size)
