"""``teleguide bench annotations``: fan-out latency of annotation events over WebSocket.

One participant draws, every connected participant (the drawer included, who gets the
server's numbered echo) receives each event; the figure is the time from the drawer's
send to each participant's receipt, JSON over a real WebSocket on loopback. By default
the server is the product: the signaling app, started in this process, reached through
``/ws`` with auth and join (annotations/bench_product.py). ``--target loopback`` measures
the annotation package's own endpoint (annotations/loopback.py) instead, and ``--url``
points the clients at a running loopback server.
Clients and server share one event loop and one process, so the figures include the
clients' own work: they are an upper bound for the server's share.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from annotations.actor import Actor
from annotations.events import AnnotationEvent
from annotations.limits import Limits
from annotations.log import AnnotationLog
from annotations.loopback import create_loopback_app
from annotations.room import AnnotationRoom

#: The bench measures fan-out, not rate limiting: limits high enough never to refuse.
BENCH_LIMITS = Limits(
    events_per_s=10_000,
    events_burst=10_000,
    pointer_per_s=10_000,
    pointer_burst=10_000,
    max_marks=100_000,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's options to ``parser``."""
    parser.add_argument("--participants", type=int, default=20, help="connected participants")
    parser.add_argument("--messages", type=int, default=300, help="events measured")
    parser.add_argument("--warmup", type=int, default=20, help="events sent before measuring")
    parser.add_argument(
        "--interval-ms", type=float, default=None, help="time between sends (20; 60 for product)"
    )
    parser.add_argument("--kind", choices=("stroke", "pointer"), default="stroke")
    parser.add_argument("--points", type=int, default=50, help="points per stroke")
    parser.add_argument(
        "--target",
        choices=("loopback", "product"),
        default="product",
        help="product (default): the signaling app's /ws; loopback: annotations' own endpoint",
    )
    parser.add_argument(
        "--url", default=None, help="ws:// URL of a running loopback server (implies loopback)"
    )
    parser.add_argument(
        "--mode",
        choices=("fanout", "tracking", "render"),
        default="fanout",
        help="fanout: event latency (default); tracking, render: CPU costs (bench_cpu.py)",
    )
    parser.add_argument("--frames", type=int, default=100, help="frames tracked (tracking)")


Connect = Callable[[aiohttp.ClientSession, int], Awaitable[aiohttp.ClientWebSocketResponse]]


@dataclass
class Target:
    """A server to measure: how to connect participant n, and what it echoes."""

    connect: Connect
    """Open participant n's socket, ready for annotate commands (n = 0 draws)."""
    close: Callable[[], Awaitable[None]]
    """Stop the server, if the benchmark started it."""
    echoes_pointer: bool = False
    """Whether the drawer receives its own pointer events back."""
    handle_s: list[float] = field(default_factory=list)
    """Server time per command, when the benchmark can see inside the server."""


class _TimedRoom(AnnotationRoom):
    """A room that also measures how long the server spends per command."""

    def __init__(self, handle_s: list[float]) -> None:
        super().__init__(AnnotationLog(BENCH_LIMITS, history=100))
        self.handle_s = handle_s

    def handle(self, actor: Actor, command: Any) -> list[AnnotationEvent]:
        """Apply and publish, timing both."""
        start = time.perf_counter()
        events = super().handle(actor, command)
        self.handle_s.append(time.perf_counter() - start)
        return events


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark and return its figures."""
    if args.mode != "fanout":
        from annotations.bench_cpu import run_cpu

        return await run_cpu(args)
    if args.url is not None:
        args.target = "loopback"
    if args.interval_ms is None:
        # The product keeps its default limit of 20 stored commands a second per participant.
        args.interval_ms = 60.0 if args.target == "product" else 20.0
    target = await _open_target(args)
    try:
        async with aiohttp.ClientSession() as session:
            latencies, lost, size = await _measure(session, target, args)
    finally:
        await target.close()
    return _figures(args, latencies, lost, size, target.handle_s)


async def _open_target(args: argparse.Namespace) -> Target:
    """Start (or point at) the server the benchmark measures."""
    if args.target == "product":
        from annotations.bench_product import start_product

        return await start_product()
    if args.url is not None:
        return Target(connect=_loopback_connect(args.url), close=_nothing)
    handle_s: list[float] = []
    room = _TimedRoom(handle_s)
    runner, url = await _start_server(room)

    async def close() -> None:
        room.close()
        await runner.cleanup()

    return Target(connect=_loopback_connect(url), close=close, handle_s=handle_s)


async def _nothing() -> None:
    """Nothing to stop."""


async def _start_server(room: AnnotationRoom) -> tuple[web.AppRunner, str]:
    """Serve ``room`` on a free loopback port; return the runner and the WebSocket URL."""
    runner = web.AppRunner(create_loopback_app(room), shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"ws://127.0.0.1:{port}/ws"


def _loopback_connect(url: str) -> Connect:
    """Connect to the loopback endpoint: identity and grants in the query string."""

    async def connect(session: aiohttp.ClientSession, n: int) -> aiohttp.ClientWebSocketResponse:
        params = {"participant": f"par_{n}", "role": "expert" if n == 0 else "technician"}
        if n == 0:
            params["annotate"] = "1"
        ws = await session.ws_connect(url, params=params, max_msg_size=0)
        await ws.receive_json()  # the annotation state every joiner gets first
        return ws

    return connect


def _command(index: int, args: argparse.Namespace) -> str:
    """The envelope of the index-th command; its media time identifies it on receipt."""
    media_time_s = index / 1000
    if args.kind == "pointer":
        body: dict[str, Any] = {"kind": "pointer", "position": [0.5, 0.5]}
    else:
        step = 0.9 / max(1, args.points - 1)
        points = [[0.05 + step * k, 0.5] for k in range(args.points)]
        body = {"kind": "stroke", "points": points}
    command = {**body, "producer_id": "prd_bench", "media_time_s": media_time_s}
    # Ids start after the product's auth and join, and increase, as the protocol wants.
    return json.dumps({"id": index + 10, "type": "annotate", "annotation": command})


class _Collector:
    """Send times and receipt latencies; ``done`` is set once every delivery arrived."""

    def __init__(self, expected: int, warmup: int) -> None:
        self.sent: dict[int, float] = {}
        self.latencies: list[float] = []
        self.sizes: list[int] = []
        self.expected = expected
        self.warmup = warmup
        self.done = asyncio.Event()

    def record(self, index: int, received_at: float, size: int) -> None:
        """Note one delivery of the index-th event."""
        if index < self.warmup:
            return
        self.latencies.append(received_at - self.sent[index])
        self.sizes.append(size)
        if len(self.latencies) >= self.expected:
            self.done.set()


async def _measure(
    session: aiohttp.ClientSession, target: Target, args: argparse.Namespace
) -> tuple[list[float], int, int]:
    """Connect everyone, send, and collect per-delivery latencies (s), losses, event size."""
    sockets = [await target.connect(session, n) for n in range(args.participants)]
    echo = args.kind != "pointer" or target.echoes_pointer
    receivers = len(sockets) - (0 if echo else 1)
    collector = _Collector(args.messages * receivers, args.warmup)
    readers = [asyncio.create_task(_read(ws, collector)) for ws in sockets]
    for index in range(args.warmup + args.messages):
        collector.sent[index] = time.perf_counter()
        await sockets[0].send_str(_command(index, args))
        await asyncio.sleep(args.interval_ms / 1000)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(5.0):
            await collector.done.wait()
    for ws in sockets:
        await ws.close()
    await asyncio.gather(*readers, return_exceptions=True)
    lost = collector.expected - len(collector.latencies)
    return collector.latencies, lost, max(collector.sizes, default=0)


async def _read(ws: aiohttp.ClientWebSocketResponse, collector: _Collector) -> None:
    """Record the latency of every annotation event this socket receives."""
    async for message in ws:
        if message.type is not aiohttp.WSMsgType.TEXT:
            continue
        received_at = time.perf_counter()
        data = json.loads(message.data)
        if data.get("type") == "annotation":
            index = round(data["annotation"]["media_time_s"] * 1000)
            collector.record(index, received_at, len(message.data))


def _figures(
    args: argparse.Namespace,
    latencies: list[float],
    lost: int,
    size: int,
    handle_s: list[float],
) -> dict[str, Any]:
    """Summarise the measurements; keys name the figure and its unit."""
    figures: dict[str, Any] = {
        "participants": args.participants,
        "target": args.target if args.url is None else args.url,
        "kind": args.kind,
        "events_sent": args.messages,
        "deliveries": len(latencies),
        "deliveries_lost": lost,
        "event_bytes": size,
        "send_interval_ms": args.interval_ms,
    }
    if latencies:
        figures |= _percentiles("fanout", latencies)
    if handle_s:
        figures |= _percentiles("server_handle", handle_s[args.warmup :] or handle_s)
    return figures


def _percentiles(prefix: str, seconds: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max of ``seconds``, in milliseconds."""
    values = sorted(seconds)
    cuts = statistics.quantiles(values, n=100) if len(values) > 1 else [values[0]] * 99
    return {
        f"{prefix}_p50_ms": round(cuts[49] * 1000, 3),
        f"{prefix}_p95_ms": round(cuts[94] * 1000, 3),
        f"{prefix}_p99_ms": round(cuts[98] * 1000, 3),
        f"{prefix}_max_ms": round(values[-1] * 1000, 3),
    }
