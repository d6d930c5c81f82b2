"""``teleguide bench analysis``: inference throughput and live feedback latency at 640x480.

Uses a real clip from the shared media (pose_squats.mp4), letterboxed to 640x480 and fed
in real time at 15 fps as decoded YUV frames, like a WebRTC Producer hands them over.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from media.analysis.estimator import RgbImage, video_estimator
from media.analysis.events import AnalysisUpdate
from media.analysis.live import AnalysisScheduler, UpdateCallback
from media.analysis.offline import read_frames

WIDTH, HEIGHT = 640, 480
WARMUP_S = 1.5
"""Updates in the first seconds are left out: they include loading the model."""


def default_clip() -> Path:
    """The squat clip in TELEGUIDE_MEDIA_DIR (default ../shared/media next to the repo)."""
    root = Path(__file__).resolve().parents[2]
    media = Path(os.environ.get("TELEGUIDE_MEDIA_DIR", root.parent / "shared" / "media"))
    return media / "pose_squats.mp4"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``bench analysis`` arguments to ``parser``."""
    parser.add_argument("--streams", type=int, default=1, help="simultaneous patients")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run")
    parser.add_argument("--fps", type=float, default=15.0, help="input frame rate per stream")
    parser.add_argument("--workers", type=int, default=None, help="worker threads (cores)")
    parser.add_argument("--video", type=Path, default=None, help="clip (default pose_squats)")


def letterbox(rgb: RgbImage) -> RgbImage:
    """Scale ``rgb`` to fit 640x480 and pad with black, keeping the body's proportions."""
    height, width = rgb.shape[:2]
    scale = min(WIDTH / width, HEIGHT / height)
    size = (round(width * scale), round(height * scale))
    canvas = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    x, y = (WIDTH - size[0]) // 2, (HEIGHT - size[1]) // 2
    canvas[y : y + size[1], x : x + size[0]] = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return canvas


def load_clip(path: Path) -> tuple[list[RgbImage], float]:
    """Return the clip's frames at 640x480 and its frame rate (blocking)."""
    frames, rates = [], [30.0]
    for _, rgb, fps in read_frames(path):
        frames.append(letterbox(rgb))
        rates.append(fps)
    return frames, rates[-1]


def _run_estimator(frames: list[RgbImage], seconds: float) -> list[float]:
    """Analyse frames back to back for ``seconds``; return each inference's duration."""
    estimator = video_estimator()
    try:
        estimator.estimate(frames[0], 0)  # graph start-up is not part of the figure
        durations = []
        deadline = time.perf_counter() + seconds
        index = 0
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            estimator.estimate(frames[index % len(frames)], index * 66)
            durations.append(time.perf_counter() - start)
            index += 1
        return durations
    finally:
        estimator.close()


def measure_throughput(frames: list[RgbImage], seconds: float) -> dict[str, float]:
    """Frames per second of one core, and of one thread per core running together."""
    single = _run_estimator(frames, seconds)
    threads = os.cpu_count() or 1
    with ThreadPoolExecutor(threads) as pool:
        runs = list(pool.map(lambda _: _run_estimator(frames, seconds), range(threads)))
    parallel_fps = sum(len(run) / seconds for run in runs)
    single_fps = len(single) / sum(single)
    return {
        "fps_per_core": round(single_fps, 1),
        "inference_p50_ms": round(statistics.median(single) * 1000, 1),
        "threads": threads,
        "threads_fps_total": round(parallel_fps, 1),
        "threads_speedup": round(parallel_fps / single_fps, 2),
    }


async def _feed(
    scheduler: AnalysisScheduler,
    stream_id: str,
    frames: list[av.VideoFrame],
    src_fps: float,
    fps: float,
    seconds: float,
    offset: float,
) -> None:
    stream = scheduler.get_stream(stream_id)
    loop = asyncio.get_running_loop()
    start = loop.time() + offset
    for tick in range(int(seconds * fps)):
        await asyncio.sleep(max(0.0, start + tick / fps - loop.time()))
        t = tick / fps
        stream.submit(frames[int(t * src_fps) % len(frames)], t)


class _Recorder:
    """Latencies and analysed-frame counts per stream, after the warm-up."""

    def __init__(self, streams: int) -> None:
        self.latencies: list[float] = []
        self.counts = [0] * streams

    def callback(self, index: int) -> UpdateCallback:
        """Return the on_update callback of stream ``index``."""

        async def on_update(update: AnalysisUpdate) -> None:
            if update.t >= WARMUP_S:
                self.latencies.append(time.monotonic() - update.received_at)
                self.counts[index] += 1

        return on_update

    def figures(self, seconds: float) -> dict[str, float]:
        """Return latency percentiles and per-stream analysed rates."""
        rates = [c / (seconds - WARMUP_S) for c in self.counts]
        ordered = sorted(self.latencies) or [float("nan")]
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        return {
            "latency_p50_ms": round(ordered[len(ordered) // 2] * 1000, 1),
            "latency_p95_ms": round(p95 * 1000, 1),
            "per_stream_fps_min": round(min(rates), 1),
            "per_stream_fps_mean": round(sum(rates) / len(rates), 1),
            "per_stream_fps_max": round(max(rates), 1),
        }


def _to_yuv(frames: list[RgbImage]) -> list[av.VideoFrame]:
    return [
        av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format="yuv420p") for f in frames
    ]


async def measure_live(
    frames: list[RgbImage],
    src_fps: float,
    streams: int,
    fps: float,
    seconds: float,
    workers: int | None,
) -> dict[str, Any]:
    """Feed ``streams`` streams in real time; return latency and per-stream analysed rates."""
    video = await asyncio.to_thread(_to_yuv, frames)
    recorder = _Recorder(streams)
    scheduler = AnalysisScheduler(workers=workers)
    await scheduler.start()
    try:
        for i in range(streams):
            stream = scheduler.add_stream(f"bench{i}", "squat", "en", None, recorder.callback(i))
            await stream.wait_ready()
        # Streams start a fraction of a frame apart, as independent cameras would.
        offsets = [i / (fps * streams) for i in range(streams)]
        await asyncio.gather(
            *(
                _feed(scheduler, f"bench{i}", video, src_fps, fps, seconds, offsets[i])
                for i in range(streams)
            )
        )
        await asyncio.sleep(0.3)
    finally:
        await scheduler.close()
    return {
        "streams": streams,
        "workers": scheduler.workers,
        "input_fps": fps,
        **recorder.figures(seconds),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark and return its figures (keys name the figure and its unit)."""
    path = args.video or default_clip()
    frames, src_fps = await asyncio.to_thread(load_clip, path)
    throughput = await asyncio.to_thread(measure_throughput, frames, min(args.seconds, 5.0))
    single = await measure_live(frames, src_fps, 1, args.fps, args.seconds, args.workers)
    result: dict[str, Any] = {
        "resolution": f"{WIDTH}x{HEIGHT}",
        "cores": os.cpu_count(),
        # The host is shared; the load when the run started tells how to read the figures.
        "load_avg_1m": round(os.getloadavg()[0], 2),
        **throughput,
        "latency_p50_ms": single["latency_p50_ms"],
        "latency_p95_ms": single["latency_p95_ms"],
        "single_stream_fps": single["per_stream_fps_mean"],
        "input_fps": args.fps,
    }
    if args.streams > 1:
        multi = await measure_live(
            frames, src_fps, args.streams, args.fps, args.seconds, args.workers
        )
        # Flat keys, so every figure prints on its own line with its unit in the name.
        result.update({f"multi_{key}": value for key, value in multi.items()})
    return result
