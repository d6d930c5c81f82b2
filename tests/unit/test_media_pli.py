"""PLI rate limiting: at most one per interval, the rest coalesced into one trailing PLI."""

from __future__ import annotations

import pytest

from media.pli import PliLimiter


def test_first_request_goes_out_at_once() -> None:
    limiter = PliLimiter(1.0)
    assert limiter.request(now=100.0) == 0.0
    assert limiter.sent == 1


def test_requests_within_the_interval_coalesce_into_one_trailing_pli() -> None:
    limiter = PliLimiter(1.0)
    limiter.request(now=100.0)
    assert limiter.request(now=100.25) == pytest.approx(0.75)
    # Further requests while one is pending need no new timer.
    assert limiter.request(now=100.5) is None
    assert limiter.request(now=100.9) is None
    assert limiter.fire(now=101.0) is True
    assert limiter.sent == 2
    assert limiter.suppressed == 3


def test_fire_without_a_pending_request_sends_nothing() -> None:
    limiter = PliLimiter(1.0)
    limiter.request(now=0.0)
    assert limiter.fire(now=5.0) is False
    assert limiter.sent == 1


def test_request_after_the_interval_goes_out_at_once() -> None:
    limiter = PliLimiter(1.0)
    limiter.request(now=10.0)
    assert limiter.request(now=11.0) == 0.0
    assert limiter.request(now=11.5) == pytest.approx(0.5)


def test_trailing_pli_restarts_the_interval() -> None:
    limiter = PliLimiter(2.0)
    limiter.request(now=0.0)
    assert limiter.request(now=1.0) == pytest.approx(1.0)
    limiter.fire(now=2.0)
    assert limiter.request(now=3.0) == pytest.approx(1.0)


def test_rate_over_a_burst_is_bounded() -> None:
    limiter = PliLimiter(1.0)
    now, pending_at = 0.0, None
    for _ in range(1000):  # one request per 10 ms for 10 s
        if pending_at is not None and now >= pending_at:
            limiter.fire(now)
            pending_at = None
        delay = limiter.request(now)
        if delay:
            pending_at = now + delay
        now += 0.01
    assert limiter.sent <= 11


def test_negative_interval_is_rejected() -> None:
    with pytest.raises(ValueError, match="interval_s"):
        PliLimiter(-1.0)
