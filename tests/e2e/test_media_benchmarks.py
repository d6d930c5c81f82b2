"""The media benchmarks run end to end at a tiny size and report their figures (no timing
is asserted here: figures are read by people, from `teleguide bench`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import pytest

from media.benchmarks import fanout, latency

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def _args(
    add_arguments: Callable[[argparse.ArgumentParser], None], *argv: str
) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


async def test_fanout_reports_forwarding_and_reencoding_side_by_side() -> None:
    args = _args(
        fanout.add_arguments,
        *("--subscribers", "2", "--reencode-subscribers", "1", "--width", "320"),
        *("--height", "240", "--window-s", "1", "--windows", "1", "--warmup-s", "1"),
    )
    figures = await fanout.run(args)
    assert figures["subscribers"] == 2
    assert figures["producer_decoded_frames_while_forwarding"] == 0
    assert float(figures["frames_delivered_min_pct"]) > 50
    for key in ("forward_cpu_us_per_subscriber_frame", "reencode_cpu_us_per_subscriber_frame"):
        assert isinstance(figures[key], float)
    assert "reencode_to_forward_ratio" in figures


async def test_latency_reports_routed_and_direct_percentiles() -> None:
    args = _args(
        latency.add_arguments,
        *("--width", "320", "--height", "240", "--duration-s", "2", "--warmup-s", "1"),
    )
    figures = await latency.run(args)
    assert int(figures["frames_routed"]) > 10
    assert int(figures["frames_direct"]) > 10
    assert figures["producer_decoded_frames"] == 0
    assert float(figures["routed_p95_ms"]) >= float(figures["routed_p50_ms"])
    assert "server_added_p95_ms" in figures
    assert float(figures["server_queue_p95_ms"]) >= 0
