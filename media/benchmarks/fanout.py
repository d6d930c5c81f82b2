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
from dataclasses import dataclass

import av
from aiortc import MediaStreamTrack, RTCSessionDescription
from aiortc.codecs import vpx
from aiortc.mediastreams import MediaStreamError

from media.benchmarks.clients import ClientPool, ClientProcess
from media.benchmarks.measure import PUBLISHER, publish, subscribe, wait_until
from media.events import TransportStateChanged
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
        choices=["loop", "noise", "ramp"],
        default="loop",
        help="publisher video: loop replays frames encoded once at --bitrate-kbps (cheap "
        "for the client); noise and ramp are encoded live by aiortc",
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


@dataclass
class Window:
    """What one measuring window saw."""

    cpu_s: float
    "Server-process CPU time (all threads)."
    wall_s: float
    "Wall time."
    produced: int
    "Frames the producer received."
    delivered: list[int]
    "Frames each subscriber received."

    def net_cpu_us_per_delivery(self, base_us_per_produced: float) -> float:
        """CPU per frame delivered to one subscriber, after the per-frame base cost."""
        net_s = self.cpu_s - base_us_per_produced * self.produced / 1e6
        return 1e6 * net_s / max(1, sum(self.delivered))

    def delivered_pct(self) -> list[float]:
        """Each subscriber's frames as a share of the frames the producer received."""
        return [100.0 * d / max(1, self.produced) for d in self.delivered]


async def _window(clients: ClientPool, producer: Producer, seconds: float) -> Window:
    frames0, produced0 = await clients.video_frames(), producer.frames_received
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    cpu1, wall1 = time.process_time(), time.perf_counter()
    frames1, produced1 = await clients.video_frames(), producer.frames_received
    delivered = [b - a for a, b in zip(frames0, frames1, strict=True)]
    return Window(cpu1 - cpu0, wall1 - wall0, produced1 - produced0, delivered)


async def _windows(
    args: argparse.Namespace, clients: ClientPool, producer: Producer
) -> list[Window]:
    return [await _window(clients, producer, args.window_s) for _ in range(args.windows)]


def _base_us(windows: list[Window]) -> float:
    """Median server CPU per frame received, with no subscriber."""
    return statistics.median(1e6 * w.cpu_s / max(1, w.produced) for w in windows)


async def _run(
    args: argparse.Namespace, router: Router, clients: ClientPool
) -> dict[str, float | int | str]:
    publisher_states: list[str] = []
    router.on_event(
        lambda e: (
            publisher_states.append(e.state)
            if isinstance(e, TransportStateChanged) and e.participant_id == PUBLISHER
            else None
        )
    )
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
    idle = await _windows(args, clients, producer)
    forwarding = await _forwarding_phase(args, router, clients, producer)
    # Forwarding must not have decoded anything (decoding starts with the next phase).
    decoded_while_forwarding = producer.decoded_frames
    decode_only, reencoding = await _reencoding_phase(args, router, clients, producer)
    figures = _figures(args, idle, forwarding, decode_only, reencoding)
    figures["producer_decoded_frames_while_forwarding"] = decoded_while_forwarding
    # Under heavy machine load the publish leg can fail (ICE consent): say so plainly.
    figures["publisher_transport_states"] = " ".join(publisher_states)
    return figures


def _figures(
    args: argparse.Namespace,
    idle: list[Window],
    forwarding: list[Window],
    decode_only: list[Window],
    reencoding: list[Window],
) -> dict[str, float | int | str]:
    forward_us = statistics.median(w.net_cpu_us_per_delivery(_base_us(idle)) for w in forwarding)
    # A window in which nothing reached a subscriber measures nothing (the publisher's
    # stream can stall on an overloaded machine): it is left out, or the figure is NaN.
    useful = [w for w in reencoding if sum(w.delivered) > 0]
    reencode_us = (
        statistics.median(w.net_cpu_us_per_delivery(_base_us(decode_only)) for w in useful)
        if useful
        else float("nan")
    )
    delivered = [p for w in forwarding for p in w.delivered_pct()]
    wall = sum(w.wall_s for w in forwarding)
    return {
        "resolution": f"{args.width}x{args.height}@{args.fps:g}",
        "detail": args.detail,
        "target_kbps": args.bitrate_kbps,
        "subscribers": args.subscribers,
        "reencode_subscribers": args.reencode_subscribers,
        "publisher_fps_while_forwarding": round(sum(w.produced for w in forwarding) / wall, 1),
        "publisher_fps_while_reencoding": round(
            sum(w.produced for w in reencoding) / sum(w.wall_s for w in reencoding), 1
        ),
        "server_cpu_publisher_only_pct": round(_cpu_pct(idle), 2),
        "server_cpu_forwarding_pct": round(_cpu_pct(forwarding), 2),
        "server_cpu_decode_once_pct": round(_cpu_pct(decode_only), 2),
        "server_cpu_reencoding_pct": round(_cpu_pct(reencoding), 2),
        "forward_cpu_us_per_subscriber_frame": round(forward_us, 1),
        "reencode_cpu_us_per_subscriber_frame": round(reencode_us, 1),
        "forward_cpu_per_subscriber_at_fps_pct": round(forward_us * args.fps / 1e4, 3),
        "reencode_cpu_per_subscriber_at_fps_pct": round(reencode_us * args.fps / 1e4, 2),
        "reencode_to_forward_ratio": round(reencode_us / forward_us, 1)
        if forward_us > 0
        else float("nan"),
        "frames_delivered_min_pct": round(min(delivered), 1),
        "frames_delivered_median_pct": round(statistics.median(delivered), 1),
        "reencode_frames_delivered_median_pct": round(
            statistics.median(p for w in reencoding for p in w.delivered_pct()), 1
        ),
    }


def _cpu_pct(windows: list[Window]) -> float:
    return statistics.median(100.0 * w.cpu_s / w.wall_s for w in windows)


async def _all_receiving(args: argparse.Namespace, clients: ClientPool) -> None:
    async def receiving() -> bool:
        return min(await clients.video_frames()) >= args.fps

    await wait_until(receiving, 60.0)
    await asyncio.sleep(args.warmup_s)


async def _forwarding_phase(
    args: argparse.Namespace, router: Router, clients: ClientPool, producer: Producer
) -> list[Window]:
    for i in range(args.subscribers):
        await subscribe(router, clients.viewer(i), f"viewer{i}", producer.id, decode=False)
    await _all_receiving(args, clients)
    windows = await _windows(args, clients, producer)
    for i in range(args.subscribers):
        await router.close_participant(f"viewer{i}")
    await clients.close_subscribers()
    return windows


async def _reencoding_phase(
    args: argparse.Namespace, router: Router, clients: ClientPool, producer: Producer
) -> tuple[list[Window], list[Window]]:
    def decode_only(frame: av.VideoFrame) -> None:
        pass

    producer.add_frame_observer(decode_only)
    # Re-encode at the publisher's target bitrate, as an SFU that transcodes would: aiortc
    # reads this constant when a sender creates its encoder (benchmark process only).
    vpx.DEFAULT_BITRATE = args.bitrate_kbps * 1000
    await asyncio.sleep(args.warmup_s)
    decoding = await _windows(args, clients, producer)
    subscribers = [
        await _reencoding_subscriber(router, clients.viewer(i), producer, f"reencode{i}")
        for i in range(args.reencode_subscribers)
    ]
    await _all_receiving(args, clients)
    reencoding = await _windows(args, clients, producer)
    for transport, track in subscribers:
        producer.remove_frame_observer(track.push)
        await transport.close()
    await clients.close_subscribers()
    producer.remove_frame_observer(decode_only)
    return decoding, reencoding


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
