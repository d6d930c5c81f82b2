"""A token bucket: at most ``rate`` events per second on average, bursts up to ``burst``."""

from __future__ import annotations

import time


class TokenBucket:
    """Rate limiter; pass ``now`` (seconds) in tests, the monotonic clock is the default."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._updated: float | None = None

    def take(self, now: float | None = None) -> bool:
        """Spend one token if there is one."""
        now = time.monotonic() if now is None else now
        if self._updated is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True
