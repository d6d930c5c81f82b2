"""Rebase 32-bit RTP timestamps to a recording that starts at zero, across wrap-around."""

from __future__ import annotations

_WRAP = 1 << 32
_HALF = 1 << 31


class TimestampRebaser:
    """Turns wrapping RTP timestamps into monotonic offsets from the first one seen."""

    def __init__(self) -> None:
        self._first: int | None = None
        self._last_raw = 0
        self._unwrapped = 0
        self._last_out = -1

    def rebase(self, raw: int) -> int | None:
        """Return the offset of ``raw`` from the first timestamp, or None if it goes back."""
        if self._first is None:
            self._first = self._unwrapped = raw
        else:
            # A forward step is less than half the 32-bit space; anything else went back.
            step = (raw - self._last_raw) % _WRAP
            self._unwrapped += step - _WRAP if step >= _HALF else step
        self._last_raw = raw
        out = self._unwrapped - self._first
        if out <= self._last_out:
            # The muxer needs strictly increasing timestamps; a late or repeated frame
            # (reordering past the jitter buffer) is dropped rather than reordered.
            return None
        self._last_out = out
        return out
