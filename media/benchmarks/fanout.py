"""``teleguide bench fanout``: server CPU per subscriber, forwarding encoded frames versus
re-encoding per subscriber, measured side by side in one run.

One client process publishes a stamped video (720p30 by default) and runs the subscribers,
which count encoded frames without decoding them. The server (this process) measures its
own CPU with time.process_time(): first with the publisher alone, then with N forwarding
subscribers, then with the producer decoded once and M subscribers each fed raw frames that
aiortc encodes for every subscriber (the path of aiortc issue #1155 / MediaRelay).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import av
from aiortc import MediaStreamTrack, RTCSessionDescription
from aiortc.codecs import vpx
from aiortc.mediastreams import MediaStreamError

from media.benchmarks.clients import ClientPool, ClientProcess
from media.benchmarks.measure import median_cpu, publish, subscribe, wait_until
from media.producer import Producer
from media.router import Router
from media.tap import capability_for
from media.transport import PeerTransport, TransportDirection

DEFAULT_KBPS = 1500


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``teleguide bench fanout``."""
    parser.add_argument("--subscribers", type=int, default=50, help="forwarding subscribers")
    parser.add_argument(
        "--reencode-subscribers",
        type=int,
        default=2,
        help="re-encoding subscribers (each costs a large part of a core)",
    )
    parser.add_argument(
        "--client-processes", type=int, default=3, help="processes hosting the subscribers"
    )
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument(
        "--detail",
        choices=["noise", "ramp"],
        default="noise",
        help="background: noise needs a camera-like bitrate, ramp compresses to little",
    )
    parser.add_argument(
        "--bitrate-kbps",
        type=int,
        default=DEFAULT_KBPS,
        help="publisher's VP8 target bitrate (aiortc allows 250-1500)",
    )
    parser.add_argument("--window-s", type=float, default=4.0, help="length of a CPU window")
    parser.add_argument("--windows", type=int, default=3, help="CPU windows per phase")
    parser.add_argument("--warmup-s", type=float, default=3.0)


class LatestFrameTrack(MediaStreamTrack):
    """Raw frames of a decoded producer for one re-encoding subscriber (newest only)."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._frame: av.VideoFrame | None = None
        self._ready = asyncio.Event()

    def push(self, frame: av.VideoFrame) -> None:
        """Offer the newest decoded frame."""
        self._frame = frame
        self._ready.set()

    async def recv(self) -> av.VideoFrame:
        """Wait for a frame newer than the last one returned."""
        if self.readyState != "live":
            raise MediaStreamError
        await self._ready.wait()
        self._ready.clear()
        assert self._frame is not None
        return self._frame


async def run(args: argparse.Namespace) -> dict[str, float | int | str]:
    """Run the benchmark and return its figures."""
    router = Router("ses_bench_fanout")
    clients = ClientPool(args.client_processes)
    try:
        return await _run(args, router, clients)
    finally:
        await router.close()
        await clients.stop()


async def _run(
    args: argparse.Namespace, router: Router, clients: ClientPool
) -> dict[str, float | int | str]:
    producer = router.producer(
        await publish(
            router,
            clients.publisher,
            args.width,
            args.height,
            args.fps,
            args.detail,
            args.bitrate_kbps * 1000,
        )
    )
    await asyncio.sleep(args.warmup_s)
    idle = await median_cpu(args.window_s, args.windows)
    forwarding = await _forwarding_phase(args, router, clients, producer)
    reencoding = await _reencoding_phase(args, router, clients, producer)
    forward_per = (forwarding["cpu_pct"] - idle) / args.subscribers
    reencode_per = (reencoding["cpu_pct"] - reencoding["decode_cpu_pct"]) / max(
        1, args.reencode_subscribers
    )
    return {
        "resolution": f"{args.width}x{args.height}@{args.fps:g}",
        "detail": args.detail,
        "target_kbps": args.bitrate_kbps,
        "subscribers": args.subscribers,
        "reencode_subscribers": args.reencode_subscribers,
        "server_cpu_publisher_only_pct": round(idle, 2),
        "server_cpu_forwarding_pct": round(forwarding["cpu_pct"], 2),
        "forward_cpu_per_subscriber_pct": round(forward_per, 3),
        "server_cpu_decode_once_pct": round(reencoding["decode_cpu_pct"], 2),
        "server_cpu_reencoding_pct": round(reencoding["cpu_pct"], 2),
        "reencode_cpu_per_subscriber_pct": round(reencode_per, 2),
        "reencode_to_forward_ratio": round(reencode_per / forward_per, 1)
        if forward_per > 0
        else float("inf"),
        "publisher_video_kbps": round(forwarding["kbps"]),
        "publisher_fps": round(forwarding["fps"], 1),
        "frames_delivered_min_pct": round(forwarding["delivered_min_pct"], 1),
        "frames_delivered_median_pct": round(forwarding["delivered_median_pct"], 1),
        "producer_decoded_frames_while_forwarding": int(forwarding["decoded"]),
        "server_frames_dropped_while_forwarding": int(forwarding["dropped"]),
        "reencode_frames_delivered_median_pct": round(reencoding["delivered_median_pct"], 1),
    }


async def _forwarding_phase(
    args: argparse.Namespace, router: Router, clients: ClientPool, producer: Producer
) -> dict[str, float]:
    consumer_ids: list[str] = []
    for i in range(args.subscribers):
        transport_id = await subscribe(
            router, clients.viewer(i), f"viewer{i}", producer.id, decode=False
        )
        consumer_ids.extend(router.transport(transport_id).consumers)

    async def all_receiving() -> bool:
        return min(await clients.video_frames()) >= args.fps

    await wait_until(all_receiving, 60.0)
    await asyncio.sleep(args.warmup_s)
    frames0, produced0 = await clients.video_frames(), producer.frames_received
    bytes0, started = producer.bytes_received, time.perf_counter()
    cpu = await median_cpu(args.window_s, args.windows)
    frames1, produced1 = await clients.video_frames(), producer.frames_received
    elapsed = time.perf_counter() - started
    kbps = 8 * (producer.bytes_received - bytes0) / elapsed / 1000
    produced = max(1, produced1 - produced0)
    delivered = [100.0 * (b - a) / produced for a, b in zip(frames0, frames1, strict=True)]
    decoded = producer.decoded_frames
    dropped = sum(router.consumer(c).frames_dropped for c in consumer_ids)
    for i in range(args.subscribers):
        await router.close_participant(f"viewer{i}")
    await clients.close_subscribers()
    return {
        "cpu_pct": cpu,
        "delivered_min_pct": min(delivered),
        "delivered_median_pct": statistics.median(delivered),
        "decoded": decoded,
        "dropped": dropped,
        "kbps": kbps,
        "fps": (produced1 - produced0) / elapsed,
    }


async def _reencoding_phase(
    args: argparse.Namespace, router: Router, clients: ClientPool, producer: Producer
) -> dict[str, float]:
    def decode_only(frame: av.VideoFrame) -> None:
        pass

    producer.add_frame_observer(decode_only)
    # Re-encode at the publisher's target bitrate, as an SFU that transcodes would: aiortc
    # reads this constant when a sender creates its encoder (benchmark process only).
    vpx.DEFAULT_BITRATE = args.bitrate_kbps * 1000
    await asyncio.sleep(args.warmup_s)
    decode_cpu = await median_cpu(args.window_s, args.windows)
    transports = [
        await _reencoding_subscriber(router, clients.viewer(i), producer, f"reencode{i}")
        for i in range(args.reencode_subscribers)
    ]

    async def all_receiving() -> bool:
        return min(await clients.video_frames()) >= args.fps

    await wait_until(all_receiving, 60.0)
    await asyncio.sleep(args.warmup_s)
    frames0, produced0 = await clients.video_frames(), producer.frames_received
    cpu = await median_cpu(args.window_s, args.windows)
    frames1, produced1 = await clients.video_frames(), producer.frames_received
    produced = max(1, produced1 - produced0)
    delivered = [100.0 * (b - a) / produced for a, b in zip(frames0, frames1, strict=True)]
    for transport, track in transports:
        producer.remove_frame_observer(track.push)
        await transport.close()
    await clients.close_subscribers()
    producer.remove_frame_observer(decode_only)
    return {
        "cpu_pct": cpu,
        "decode_cpu_pct": decode_cpu,
        "delivered_median_pct": statistics.median(delivered),
    }


async def _reencoding_subscriber(
    router: Router, clients: ClientProcess, producer: Producer, participant_id: str
) -> tuple[PeerTransport, LatestFrameTrack]:
    """A subscriber fed raw frames: aiortc encodes them again for this peer alone."""
    track = LatestFrameTrack()
    producer.add_frame_observer(track.push)
    transport = PeerTransport(participant_id, TransportDirection.SUBSCRIBE, router.ice_servers)
    transceiver = transport.pc.addTransceiver(track, direction="sendonly")
    transceiver.setCodecPreferences(capability_for(producer.codec_parameters))
    await transport.pc.setLocalDescription(await transport.pc.createOffer())
    _, answer_sdp = await clients.call("subscribe", transport.pc.localDescription.sdp, False)
    await transport.pc.setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))
    return transport, track


def main() -> None:
    """Run from the command line: python -m media.benchmarks.fanout [--json]."""
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = asyncio.run(run(args))
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:45} {value}")


if __name__ == "__main__":
    main()
