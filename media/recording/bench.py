"""``teleguide bench recording``: CPU per recorded 720p30 stream, remuxing vs transcoding.

Both paths get the same pre-encoded VP8 packets (what the media router hands the recorder)
and are timed in process CPU seconds (all threads) per second of media:
remux   packets -> TrackWriter -> WebM, no decoding (what TeleGuide does), fed in real
        time at 30 fps so the writer thread's wake-ups per frame are counted too;
transcode  packets -> VP8 decode -> VP8 encode -> WebM (what a decode-based recorder does),
        as fast as it goes (its cost is codec work, which pacing does not change).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from media.recording.codecs import TrackCodec
from media.recording.synthetic import vp8_encoder, vp8_packets
from media.recording.writer import TrackWriter
from sessions.clock import SystemClock

TARGET_REMUX_PCT = 5.0
Packets = list[tuple[av.Packet, bool]]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the benchmark's options on the ``teleguide bench recording`` parser."""
    parser.add_argument("--seconds", type=float, default=10.0, help="media per run (s)")
    parser.add_argument("--runs", type=int, default=3, help="runs per path; medians reported")
    parser.add_argument(
        "--source",
        type=Path,
        default=None,
        help="video file to encode as the recorded stream (scaled to 720p, looped); "
        "default: synthetic marker video, which is easier to encode than a camera",
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Measure both paths ``args.runs`` times and return medians and their ratio."""
    source: Path | None = args.source
    return await asyncio.to_thread(_measure, float(args.seconds), int(args.runs), source)


def _measure(seconds: float, runs: int, source: Path | None) -> dict[str, Any]:
    frames = int(seconds * 30)
    packets = _file_packets(source, frames) if source else list(vp8_packets(frames, 1280, 720))
    remux, transcode = [], []
    with tempfile.TemporaryDirectory(prefix="tg-bench-rec-") as tmp:
        for index in range(runs):
            remux.append(_cpu_pct(_remux, packets, Path(tmp) / f"r{index}.webm", seconds))
            transcode.append(_cpu_pct(_transcode, packets, Path(tmp) / f"t{index}.webm", seconds))
    remux_pct, transcode_pct = statistics.median(remux), statistics.median(transcode)
    return {
        "stream": "VP8 1280x720 30 fps",
        "source": str(source) if source else "synthetic",
        "media_s_per_run": seconds,
        "runs": runs,
        "remux_cpu_pct_of_core_per_stream_median": round(remux_pct, 3),
        "transcode_cpu_pct_of_core_per_stream_median": round(transcode_pct, 2),
        "transcode_to_remux_ratio": round(transcode_pct / max(remux_pct, 1e-9), 1),
        "remux_target_pct": TARGET_REMUX_PCT,
        "remux_within_target": remux_pct <= TARGET_REMUX_PCT,
    }


def _file_packets(source: Path, count: int) -> Packets:
    # Real footage, scaled to 720p and looped, encoded as a WebRTC sender would.
    with av.open(str(source)) as container:
        pictures = [
            f.reformat(width=1280, height=720, format="yuv420p") for f in container.decode(video=0)
        ]
        rate = float(container.streams.video[0].average_rate or 30)
    encoder = vp8_encoder(1280, 720, 30, gop=60)
    packets: Packets = []
    for index in range(count):
        # Footage at its own rate, shown at 30 fps (a 5 fps clip repeats each frame 6 times).
        picture = pictures[int(index * rate / 30) % len(pictures)]
        frame = av.VideoFrame.from_ndarray(picture.to_ndarray(), format="yuv420p")
        frame.pts = index * 3000
        packets += [(p, bool(p.is_keyframe)) for p in encoder.encode(frame)]
    return packets


def _cpu_pct(path_fn: Any, packets: Packets, out: Path, media_s: float) -> float:
    # process_time counts every thread of the process: the writer thread is included.
    before = time.process_time()
    path_fn(packets, out)
    return (time.process_time() - before) / media_s * 100


def _copy(packet: av.Packet) -> av.Packet:
    # The media router gives each observer its own packet; so does the benchmark.
    copy = av.Packet(bytes(packet))
    copy.pts = copy.dts = packet.pts
    copy.time_base = packet.time_base
    return copy


def _remux(packets: Packets, out: Path) -> None:
    writer = TrackWriter(out, TrackCodec.VP8, SystemClock())
    origin = time.monotonic()
    for index, (packet, key) in enumerate(packets):
        time.sleep(max(0.0, origin + index / 30 - time.monotonic()))
        writer.push(_copy(packet), key)
    writer.close()


def _transcode(packets: Packets, out: Path) -> None:
    decoder = av.CodecContext.create("vp8", "r")
    encoder = vp8_encoder(1280, 720, 30, gop=60)
    # One thread each: multi-threaded libvpx spins on a busy host and inflates CPU time.
    decoder.thread_count = encoder.thread_count = 1
    with av.open(str(out), "w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=30)
        stream.width, stream.height = 1280, 720
        stream.time_base = Fraction(1, 1000)
        for packet, _ in packets:
            for frame in decoder.decode(_copy(packet)):
                frame.pts = packet.pts
                for encoded in encoder.encode(frame):
                    encoded.stream = stream
                    container.mux(encoded)
