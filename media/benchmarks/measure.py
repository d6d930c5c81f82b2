"""Shared measuring helpers of the media benchmarks: CPU windows and percentiles."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from media.benchmarks.clients import ClientProcess
from media.router import Router

PUBLISHER = "bench-publisher"


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (fraction in 0..1)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return float(ordered[index])


async def publish(
    router: Router,
    clients: ClientProcess,
    width: int,
    height: int,
    fps: float,
    detail: str = "ramp",
    bitrate_bps: int = 500_000,
) -> str:
    """Have the client process publish a stamped video through the router; return its
    producer id."""
    _, offer_sdp = await clients.call("publish", width, height, fps, detail, bitrate_bps)
    result = await router.publish(PUBLISHER, offer_sdp)
    await clients.call("answer", result.answer_sdp)
    return result.producer_ids[0]


async def subscribe(
    router: Router, clients: ClientProcess, participant_id: str, producer_id: str, decode: bool
) -> str:
    """Subscribe one client-process subscriber through the router; return the transport id."""
    result = await router.subscribe(participant_id, [producer_id])
    _, answer_sdp = await clients.call("subscribe", result.offer_sdp, decode)
    await router.accept_answer(result.transport_id, answer_sdp)
    return result.transport_id


async def wait_until(predicate: object, timeout_s: float) -> bool:
    """Poll an async predicate until it holds or the timeout passes."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.2)
    return False
