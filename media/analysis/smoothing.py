"""A small filter for angle signals: median of three against spikes, then a time-aware EMA."""

from __future__ import annotations

import math
from collections import deque


class AngleFilter:
    """Removes single-frame spikes and jitter; forgets history across long gaps."""

    def __init__(self, tau_s: float = 0.08, max_gap_s: float = 1.0) -> None:
        self.tau_s = tau_s
        self.max_gap_s = max_gap_s
        self._window: deque[float] = deque(maxlen=3)
        self._value: float | None = None
        self._last_t: float | None = None

    def reset(self) -> None:
        """Forget the history (after the person was lost)."""
        self._window.clear()
        self._value = None
        self._last_t = None

    def update(self, t: float, value: float) -> float:
        """Feed one sample at time ``t`` and return the filtered value."""
        if self._last_t is not None and t - self._last_t > self.max_gap_s:
            self.reset()
        self._window.append(value)
        median = sorted(self._window)[len(self._window) // 2]
        if self._value is None or self._last_t is None:
            self._value = median
        else:
            # alpha from elapsed time so 5 fps and 30 fps input are smoothed alike.
            alpha = 1.0 - math.exp(-max(t - self._last_t, 0.0) / self.tau_s)
            self._value += alpha * (median - self._value)
        self._last_t = t
        return self._value
