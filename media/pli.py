"""Rate limiting of keyframe requests (PLI) to a publisher: pure logic, time passed in."""

from __future__ import annotations


class PliLimiter:
    """Lets at most one PLI through per interval and coalesces the rest into one trailing PLI.

    Without the trailing PLI, a subscriber arriving just after another one would wait for
    the publisher's next natural keyframe, which aiortc's VP8 encoder sends every 3000
    frames. Callers ask ``request(now)``; when it returns a delay they schedule a call to
    ``fire(now)`` after that delay.
    """

    def __init__(self, interval_s: float) -> None:
        if interval_s < 0:
            raise ValueError("interval_s must be >= 0")
        self.interval_s = interval_s
        self._last_sent: float | None = None
        self._pending = False
        self.sent = 0
        self.suppressed = 0

    def request(self, now: float) -> float | None:
        """Return 0.0 to send now, a delay after which to call fire(), or None if already
        scheduled."""
        if self._pending:
            self.suppressed += 1
            return None
        wait = self._wait(now)
        if wait <= 0:
            self._mark_sent(now)
            return 0.0
        self._pending = True
        self.suppressed += 1
        return wait

    def fire(self, now: float) -> bool:
        """Send the trailing PLI scheduled by request(); return whether to send it."""
        if not self._pending:
            return False
        self._pending = False
        self._mark_sent(now)
        return True

    def _wait(self, now: float) -> float:
        if self._last_sent is None:
            return 0.0
        return self._last_sent + self.interval_s - now

    def _mark_sent(self, now: float) -> None:
        self._last_sent = now
        self.sent += 1
