"""Rate limiting of cues so the patient hears a hint, not a stream of them."""

from __future__ import annotations


class CueGate:
    """Lets a cue through unless the same cue was given recently or any cue very recently."""

    def __init__(self, same_cue_s: float = 8.0, min_interval_s: float = 3.0) -> None:
        self.same_cue_s = same_cue_s
        """The same cue is not repeated within this many seconds."""
        self.min_interval_s = min_interval_s
        """At most one cue (of any kind) per this many seconds."""
        self._last_any: float | None = None
        self._last_by_code: dict[str, float] = {}

    def offer(self, t: float, codes: list[str]) -> str | None:
        """Return the first code in ``codes`` (priority order) that may be cued at ``t``."""
        if self._last_any is not None and t - self._last_any < self.min_interval_s:
            return None
        for code in codes:
            last = self._last_by_code.get(code)
            if last is None or t - last >= self.same_cue_s:
                self._last_any = t
                self._last_by_code[code] = t
                return code
        return None
