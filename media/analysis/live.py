"""Live analysis: the newest frame of each stream, analysed in worker threads, shared fairly.

Each stream has a one-slot mailbox that a new frame overwrites, so nothing queues up and
feedback is about the newest frame. A dispatcher on the event loop hands ready streams to
worker threads round-robin, at most one job per stream at a time (its estimator keeps
tracking state and is not thread-safe). When the workers cannot keep up, every stream's
rate drops evenly; the latency of an analysed frame stays one inference long.

Threads, not processes: MediaPipe runs its graph without holding the GIL, so two threads
on two cores gave 1.7x the frames of one (docs/analysis.md has the figures), and threads
keep each stream's tracking state without pickling frames across processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import Any, cast

import av
import cv2
from av.video.reformatter import VideoReformatter

from media.analysis.estimator import EstimatorFactory, PoseEstimator, RgbImage, video_estimator
from media.analysis.events import AnalysisUpdate
from media.analysis.library import ExerciseLibrary, check_language, default_library
from media.analysis.targets import parse_targets
from media.analysis.tracker import ExerciseTracker
from sessions.exceptions import ConflictError, InvalidStateError, NotFoundError

logger = logging.getLogger(__name__)

UpdateCallback = Callable[[AnalysisUpdate], Awaitable[None]]
Frame = av.VideoFrame | RgbImage
MAX_SIDE = 640
"""Frames are scaled down to this many pixels on their long side before inference."""


class StreamState(Enum):
    """Lifecycle of a StreamAnalyzer."""

    OPEN = "open"
    CLOSED = "closed"


class SchedulerState(Enum):
    """Lifecycle of the AnalysisScheduler."""

    CREATED = "created"
    RUNNING = "running"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class _Mail:
    frame: Frame
    t: float
    received_at: float


def to_rgb(
    frame: Frame, max_side: int = MAX_SIDE, reformatter: VideoReformatter | None = None
) -> RgbImage:
    """Return the frame as an RGB array, scaled down to ``max_side`` (runs in a worker).

    Pass a reformatter owned by the calling stream: ``frame.reformat()`` would use a
    scaler cached on the frame itself, and the same decoded frame may reach several
    observers (analysis, annotation tracking) converting it at once in different threads,
    which hangs or crashes libswscale.
    """
    if isinstance(frame, av.VideoFrame):
        width, height = _fit(frame.width, frame.height, max_side)
        scaler = reformatter or VideoReformatter()
        image = scaler.reformat(frame, width=width, height=height, format="rgb24").to_ndarray()
        return cast(RgbImage, image)
    height, width = frame.shape[:2]
    new_width, new_height = _fit(width, height, max_side)
    if (new_width, new_height) == (width, height):
        return frame
    resized = cv2.resize(frame, (new_width, new_height), interpolation=cv2.INTER_AREA)
    return cast(RgbImage, resized)


def _fit(width: int, height: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height))
    return max(2, round(width * scale)) // 2 * 2, max(2, round(height * scale)) // 2 * 2


class StreamAnalyzer:
    """One patient's video stream under analysis (create through AnalysisScheduler)."""

    def __init__(
        self,
        stream_id: str,
        tracker: ExerciseTracker,
        on_update: UpdateCallback,
        estimator_factory: EstimatorFactory,
        wake: Callable[[], None],
    ) -> None:
        self.stream_id = stream_id
        self.state = StreamState.OPEN
        self._tracker = tracker
        self._on_update = on_update
        self._estimator_factory = estimator_factory
        self._estimator: PoseEstimator | None = None
        self._reformatter = VideoReformatter()
        self._wake = wake
        self._mail: _Mail | None = None
        self._pending_tracker: ExerciseTracker | None = None
        self._last_observed: float | None = None
        self._time_offset = 0.0
        # Written by the worker after each frame, read on the loop: no lock is needed
        # because a dict is swapped in whole and never changed afterwards.
        self._summaries: dict[str, dict[str, Any]] = {tracker.exercise.name: tracker.summary()}
        self.busy = False
        self._prepared = asyncio.Event()
        self.last_t = float("-inf")
        """Media time of the last frame taken for analysis."""
        self.submitted = 0
        self.analysed = 0
        self.replaced = 0
        """Frames overwritten in the mailbox before a worker took them."""

    @property
    def exercise(self) -> str:
        """Name of the exercise being analysed."""
        pending = self._pending_tracker
        return (pending or self._tracker).exercise.name

    def submit(self, frame: Frame, t_seconds: float) -> None:
        """Offer the newest decoded frame; an older one still waiting is dropped."""
        if self.state is StreamState.CLOSED:
            return
        if self._mail is not None:
            self.replaced += 1
        self.submitted += 1
        self._mail = _Mail(frame, t_seconds, time.monotonic())
        self._wake()

    def observe(self, frame: av.VideoFrame) -> None:
        """Frame observer for ``Producer.add_frame_observer``: submit at the frame's media time.

        aiortc stamps decoded frames with the RTP timestamp (time_base 1/90000), so
        ``frame.time`` is the capture clock; without one the arrival time is used.
        """
        t = float(frame.time) if frame.time is not None else time.monotonic()
        last = self._last_observed
        if last is not None and t + self._time_offset < last - 1.0:
            # The 32-bit RTP clock wrapped (or the publisher restarted): keep time monotonic.
            self._time_offset = last - t
        self._last_observed = t + self._time_offset
        self.submit(frame, self._last_observed)

    def set_exercise(
        self, exercise: str, language: str, targets: dict[str, Any] | None = None
    ) -> None:
        """Switch to another exercise from the next frame on (the old one's summary stays)."""
        tracker = self._tracker
        self._pending_tracker = ExerciseTracker(exercise, language, targets, tracker.library)

    def summary(self) -> dict[str, Any]:
        """Return {exercise: {reps, range_of_motion, issues, target...}} for the ticket."""
        return dict(self._summaries)

    def stats(self) -> dict[str, int]:
        """Return frame counters (submitted, analysed, replaced)."""
        return {
            "submitted": self.submitted,
            "analysed": self.analysed,
            "replaced": self.replaced,
        }

    @property
    def ready(self) -> bool:
        """True when a frame waits and no job of this stream runs."""
        return self._mail is not None and not self.busy and self.state is StreamState.OPEN

    def take(self) -> _Mail:
        """Take the waiting frame and mark the stream busy (dispatcher only)."""
        mail = self._mail
        assert mail is not None
        self._mail = None
        self.busy = True
        self.last_t = mail.t
        return mail

    def due_in(self, interval: float, now: float) -> float:
        """Seconds until the waiting frame may be analysed under a per-stream rate cap.

        Judged on media time, so frames arriving at the cap rate never wait for a timer;
        a frame that arrives early waits until a newer one replaces it or until it has
        waited one interval (so the last frame of a stream is still analysed).
        """
        mail = self._mail
        if mail is None:
            return float("inf")
        # 10% slack for timestamp jitter.
        if mail.t - self.last_t >= 0.9 * interval:
            return 0.0
        return max(0.0, mail.received_at + interval - now)

    def prepare(self) -> None:
        """Load the model (in a worker thread) so the first frames are not spent on it."""
        if self._estimator is None:
            self._estimator = self._estimator_factory()

    def mark_prepared(self) -> None:
        """Note that the model is loaded (on the loop)."""
        self._prepared.set()

    async def wait_ready(self) -> None:
        """Wait until the model is loaded (or loading failed and will be retried per frame)."""
        await self._prepared.wait()

    def analyse(self, mail: _Mail) -> AnalysisUpdate:
        """Run estimation and tracking on one frame (in a worker thread)."""
        if self._pending_tracker is not None:
            self._tracker, self._pending_tracker = self._pending_tracker, None
        if self._estimator is None:
            self._estimator = self._estimator_factory()
        rgb = to_rgb(mail.frame, reformatter=self._reformatter)
        pose = self._estimator.estimate(rgb, int(mail.t * 1000))
        update = self._tracker.feed(mail.t, pose, mail.received_at)
        summaries = dict(self._summaries)
        summaries[self._tracker.exercise.name] = self._tracker.summary()
        self._summaries = summaries
        self.analysed += 1
        return update

    async def publish(self, update: AnalysisUpdate) -> None:
        """Hand an update to the stream's callback unless the stream was closed meanwhile."""
        if self.state is StreamState.OPEN:
            await self._on_update(update)

    def close_estimator(self) -> None:
        """Release the estimator (in a worker thread; only when no job runs)."""
        estimator, self._estimator = self._estimator, None
        if estimator is not None:
            estimator.close()

    def mark_closed(self) -> None:
        """Stop accepting frames; idempotent."""
        self._set_state(StreamState.CLOSED)
        self._mail = None

    def _set_state(self, state: StreamState) -> None:
        if state is not self.state:
            logger.info(
                "analysis stream %s: %s -> %s", self.stream_id, self.state.value, state.value
            )
            self.state = state


class AnalysisScheduler:
    """Runs every stream's analysis on ``workers`` threads, round-robin over ready streams."""

    def __init__(
        self,
        workers: int | None = None,
        *,
        max_fps: float = 15.0,
        estimator_factory: EstimatorFactory = video_estimator,
        library: ExerciseLibrary | None = None,
    ) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.max_fps = max_fps
        """Per-stream cap: frames beyond this rate are not analysed (they add little)."""
        self.state = SchedulerState.CREATED
        self._estimator_factory = estimator_factory
        self._library = library
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="pose")
        # Model loads and releases get their own thread so a stream joining never queues
        # ahead of the analysis of the streams already running.
        self._loader = ThreadPoolExecutor(1, thread_name_prefix="pose-load")
        self._streams: dict[str, StreamAnalyzer] = {}
        self._order: list[str] = []
        self._next = 0
        self._free = self.workers
        self._wake_event = asyncio.Event()
        self._jobs: set[asyncio.Task[None]] = set()
        self._dispatcher: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0

    def _set_state(self, state: SchedulerState) -> None:
        if state is not self.state:
            logger.info("analysis scheduler: %s -> %s", self.state.value, state.value)
            self.state = state

    async def start(self) -> None:
        """Start the dispatcher on the running loop."""
        if self.state is not SchedulerState.CREATED:
            raise InvalidStateError(f"cannot start analysis scheduler in state {self.state.name}")
        if self._library is None:
            # Reading the library file is disk I/O: not on the event loop.
            self._library = await asyncio.to_thread(default_library)
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._dispatcher = asyncio.create_task(self._dispatch(), name="analysis-dispatcher")
        self._set_state(SchedulerState.RUNNING)

    def add_stream(
        self,
        stream_id: str,
        exercise: str,
        language: str,
        targets: dict[str, Any] | None,
        on_update: UpdateCallback,
    ) -> StreamAnalyzer:
        """Start analysing a stream; raise NotFoundError/ValidationError on bad input."""
        if self.state is not SchedulerState.RUNNING:
            raise InvalidStateError(f"cannot add a stream in state {self.state.name}")
        if stream_id in self._streams:
            raise ConflictError(f"stream {stream_id} is already analysed")
        parse_targets(targets)
        assert self._library is not None  # loaded by start()
        tracker = ExerciseTracker(exercise, check_language(language), targets, self._library)
        stream = StreamAnalyzer(stream_id, tracker, on_update, self._estimator_factory, self._wake)
        self._streams[stream_id] = stream
        self._order.append(stream_id)
        # Loading the model takes a few hundred milliseconds: start now, before frames come.
        # The stream counts as busy meanwhile, so its newest frame waits in the mailbox.
        stream.busy = True
        self._spawn(self._prepare(stream))
        return stream

    def get_stream(self, stream_id: str) -> StreamAnalyzer:
        """Return the stream ``stream_id`` or raise NotFoundError."""
        stream = self._streams.get(stream_id)
        if stream is None:
            raise NotFoundError(f"stream {stream_id} is not analysed")
        return stream

    def remove_stream(self, stream_id: str) -> dict[str, Any] | None:
        """Stop analysing a stream and return its summary (None if unknown); idempotent."""
        stream = self._streams.pop(stream_id, None)
        if stream is None:
            return None
        self._order.remove(stream_id)
        stream.mark_closed()
        if not stream.busy:
            self._spawn(self._close_estimator(stream))
        return stream.summary()

    @property
    def streams(self) -> list[StreamAnalyzer]:
        """Streams under analysis, in round-robin order."""
        return [self._streams[i] for i in self._order]

    async def close(self) -> None:
        """Stop the dispatcher, finish running jobs, release every estimator; idempotent."""
        if self.state is SchedulerState.CLOSED:
            return
        previous = self.state
        self._set_state(SchedulerState.CLOSED)
        for stream_id in list(self._order):
            self.remove_stream(stream_id)
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            await asyncio.gather(self._dispatcher, return_exceptions=True)
        while self._jobs:
            await asyncio.gather(*self._jobs, return_exceptions=True)
        if previous is not SchedulerState.CREATED:
            await asyncio.to_thread(self._executor.shutdown, wait=True)
            await asyncio.to_thread(self._loader.shutdown, wait=True)
        else:
            self._executor.shutdown(wait=False)
            self._loader.shutdown(wait=False)

    def _wake(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if threading.get_ident() == self._loop_thread:
            self._wake_event.set()
        else:
            loop.call_soon_threadsafe(self._wake_event.set)

    async def _dispatch(self) -> None:
        while True:
            self._wake_event.clear()
            self._launch_ready()
            delay = self._next_eligible_in()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_event.wait(), timeout=delay)

    def _launch_ready(self) -> None:
        while self._free > 0:
            stream = self._pick()
            if stream is None:
                return
            self._free -= 1
            self._spawn(self._run(stream, stream.take()))

    def _pick(self) -> StreamAnalyzer | None:
        """Next ready stream after the last one served, honouring the per-stream cap."""
        count = len(self._order)
        now = time.monotonic()
        for step in range(count):
            index = (self._next + step) % count
            stream = self._streams[self._order[index]]
            if stream.ready and stream.due_in(1.0 / self.max_fps, now) <= 0.0:
                self._next = index + 1
                return stream
        return None

    def _next_eligible_in(self) -> float | None:
        """Seconds until a capped stream with a waiting frame may run again."""
        if self._free == 0:
            return None
        now = time.monotonic()
        waits = [s.due_in(1.0 / self.max_fps, now) for s in self._streams.values() if s.ready]
        return max(0.001, min(waits)) if waits else None

    async def _run(self, stream: StreamAnalyzer, mail: _Mail) -> None:
        loop = asyncio.get_running_loop()
        update: AnalysisUpdate | None = None
        try:
            update = await loop.run_in_executor(self._executor, stream.analyse, mail)
        except Exception:
            logger.exception("analysis of stream %s failed", stream.stream_id)
        finally:
            self._free += 1
            self._wake_event.set()
        try:
            if update is not None:
                await stream.publish(update)
        except Exception:
            logger.exception("publishing analysis of stream %s failed", stream.stream_id)
        finally:
            stream.busy = False
            if stream.state is StreamState.CLOSED:
                await self._close_estimator(stream)
            self._wake_event.set()

    async def _prepare(self, stream: StreamAnalyzer) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(self._loader, stream.prepare)
        except Exception:
            logger.exception("loading the pose model for stream %s failed", stream.stream_id)
        finally:
            stream.busy = False
            stream.mark_prepared()
            if stream.state is StreamState.CLOSED:
                await self._close_estimator(stream)
            self._wake_event.set()

    async def _close_estimator(self, stream: StreamAnalyzer) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(self._loader, stream.close_estimator)
        except RuntimeError:
            # The executor is already shut down (scheduler closing): close here instead.
            stream.close_estimator()

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)
