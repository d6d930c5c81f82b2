"""``teleguide bench latency``: latency the router adds to 640x480 at 30 fps over loopback.

A client process publishes a video whose frames carry their send time drawn as blocks
(media/synthetic.py). It receives that video twice, decoding and reading the stamps: once
through the router in this process, and once straight from a second, identical publisher
(no server). Both paths share encoding, the client's jitter buffer and decoding, so the
difference of the two distributions is what the server adds (its receive, forwarding and
send, plus the second network hop).
"""

from __future__ import annotations

import argparse
import asyncio
import json

from media.benchmarks.clients import ClientProcess
from media.benchmarks.measure import percentile, publish, subscribe
from media.router import Router

DEFAULT_KBPS = 1000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``teleguide bench latency``."""
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument(
        "--detail",
        choices=["noise", "ramp"],
        default="ramp",
        help="background: noise needs a camera-like bitrate, ramp compresses to little",
    )
    parser.add_argument(
        "--bitrate-kbps",
        type=int,
        default=DEFAULT_KBPS,
        help="publisher's VP8 target bitrate (aiortc allows 250-1500)",
    )
    parser.add_argument("--duration-s", type=float, default=20.0, help="measured time")
    parser.add_argument("--warmup-s", type=float, default=3.0)


async def run(args: argparse.Namespace) -> dict[str, float | int | str]:
    """Run the benchmark and return its figures."""
    router = Router("ses_bench_latency")
    clients = ClientProcess()
    try:
        producer_id = await publish(
            router,
            clients,
            args.width,
            args.height,
            args.fps,
            args.detail,
            args.bitrate_kbps * 1000,
        )
        transport_id = await subscribe(router, clients, "viewer", producer_id, decode=True)
        (consumer,) = router.transport(transport_id).consumers.values()
        await clients.call(
            "direct", args.width, args.height, args.fps, args.detail, args.bitrate_kbps * 1000
        )
        await asyncio.sleep(args.warmup_s)
        _, routed0, direct0 = await clients.call("stats")
        consumer.track.wait_ms.clear()
        await asyncio.sleep(args.duration_s)
        waits = list(consumer.track.wait_ms)
        _, routed1, direct1 = await clients.call("stats")
        decoded = router.producer(producer_id).decoded_frames
    finally:
        await router.close()
        await clients.stop()
    routed = routed1[0][0]["latencies_ms"][len(routed0[0][0]["latencies_ms"]) :]
    direct = direct1[0]["latencies_ms"][len(direct0[0]["latencies_ms"]) :]
    figures = _figures(args, routed, direct, decoded)
    # Inside the server: from a frame's last packet arriving (frame complete) to its
    # subscriber's sender taking it; the sender then packetizes and sends at once.
    for q in (50, 95):
        figures[f"server_queue_p{q}_ms"] = round(percentile(waits, q / 100), 2)
    return figures


def _figures(
    args: argparse.Namespace, routed: list[int], direct: list[int], decoded: int
) -> dict[str, float | int | str]:
    figures: dict[str, float | int | str] = {
        "resolution": f"{args.width}x{args.height}@{args.fps:g}",
        "detail": args.detail,
        "target_kbps": args.bitrate_kbps,
        "frames_routed": len(routed),
        "frames_direct": len(direct),
    }
    for name, values in (("routed", routed), ("direct", direct)):
        for q in (50, 95):
            figures[f"{name}_p{q}_ms"] = percentile(values, q / 100)
    for q in (50, 95):
        added = float(figures[f"routed_p{q}_ms"]) - float(figures[f"direct_p{q}_ms"])
        figures[f"server_added_p{q}_ms"] = round(added, 1)
    figures["producer_decoded_frames"] = decoded
    return figures


def main() -> None:
    """Run from the command line: python -m media.benchmarks.latency [--json]."""
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = asyncio.run(run(args))
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:30} {value}")


if __name__ == "__main__":
    main()
