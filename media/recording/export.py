"""Annotated MP4 export: decode a recorded video track, draw the timeline, encode H.264.

Rendering is CPU-heavy (decode, draw, encode) and runs as a background job on a worker
thread, never on the event loop; its status (queued, running with progress, done, failed)
is queryable by job id while it runs.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from pathlib import Path

import av
import av.container
import numpy as np

from media.recording.crypto import DecryptingReader
from media.recording.errors import RecordingInProgressError
from media.recording.manifest import Manifest, TrackEntry, read_manifest
from media.recording.overlay import MarkDrawer, TimelineReplay, draw_marks, draw_messages
from media.recording.state import FINAL_STATES
from sessions.exceptions import NotFoundError
from sessions.ids import new_id

log = logging.getLogger(__name__)

Progress = Callable[[float], None]


class ExportState(StrEnum):
    """Where an export job is."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(slots=True)
class ExportJob:
    """One export: what, where to, and how far it got."""

    id: str
    """``exp_...``."""
    recording_id: str
    """The recording exported."""
    output: Path
    """The MP4 being written."""
    state: ExportState = ExportState.QUEUED
    """Where it is."""
    progress: float = 0.0
    """Fraction of the video rendered, 0..1."""
    frames: int = 0
    """Frames rendered."""
    error: str | None = None
    """Why it failed."""


def render_annotated_mp4(
    directory: Path,
    output: Path,
    *,
    track_id: str | None = None,
    key: bytes | None = None,
    drawer: MarkDrawer = draw_marks,
    progress: Progress | None = None,
) -> int:
    """Render one video track with its annotations into an H.264 MP4; return frames (blocking)."""
    manifest = read_manifest(directory)
    if manifest.state not in FINAL_STATES:
        raise RecordingInProgressError(f"recording {manifest.recording_id} is still being written")
    track = _video_track(manifest, track_id)
    audio = _audio_track(manifest, track)
    with tempfile.TemporaryDirectory(prefix="tg-export-") as tmp:
        source = _plain_source(directory / track.file, track, key, Path(tmp))
        replay = TimelineReplay(manifest.timeline, track.producer_id)
        sound = None
        if audio is not None:
            # Audio is copied, not re-encoded, shifted by the tracks' start difference.
            offset = (audio.start_media_s or 0.0) - (track.start_media_s or 0.0)
            sound = (_plain_source(directory / audio.file, audio, key, Path(tmp)), offset)
        return _transcode(source, output, track, replay, drawer, progress, sound)


def _video_track(manifest: Manifest, track_id: str | None) -> TrackEntry:
    videos = [t for t in manifest.tracks if t.kind == "video" and t.packets > 0]
    if track_id is not None:
        videos = [t for t in videos if t.track_id == track_id]
    if not videos:
        raise NotFoundError(f"recording {manifest.recording_id} has no such video track")
    return videos[0]


def _audio_track(manifest: Manifest, video: TrackEntry) -> TrackEntry | None:
    # The same participant's microphone, if it was recorded.
    return next(
        (
            t
            for t in manifest.tracks
            if t.kind == "audio" and t.participant_id == video.participant_id and t.packets > 0
        ),
        None,
    )


def _plain_source(path: Path, track: TrackEntry, key: bytes | None, tmp: Path) -> Path:
    if not track.encrypted:
        return path
    if key is None:
        raise NotFoundError("the recording is encrypted and no key is configured")
    plain = tmp / f"{track.track_id}.webm"
    with plain.open("wb") as handle:
        for chunk in DecryptingReader(path, key).read_range():
            handle.write(chunk)
    return plain


def _transcode(
    source: Path,
    output: Path,
    track: TrackEntry,
    replay: TimelineReplay,
    drawer: MarkDrawer,
    progress: Progress | None,
    sound: tuple[Path, float] | None,
) -> int:
    partial = output.with_suffix(".partial.mp4")
    frames = 0
    with av.open(str(source)) as reader, av.open(str(partial), "w", format="mp4") as writer:
        audio = _AudioCopy(sound[0], sound[1], writer) if sound else None
        stream_in = reader.streams.video[0]
        stream_out = writer.add_stream("libx264", rate=30, options={"preset": "veryfast"})
        stream_out.width = stream_in.codec_context.width
        stream_out.height = stream_in.codec_context.height
        stream_out.pix_fmt = "yuv420p"
        stream_out.time_base = Fraction(1, 1000)
        for frame in reader.decode(stream_in):
            at = float(frame.time or 0.0)
            replay.advance((track.start_media_s or 0.0) + at)
            picture = np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
            image = drawer(picture, list(replay.marks.values()))
            image = draw_messages(image, replay.messages())
            out = av.VideoFrame.from_ndarray(image, format="bgr24")
            out.pts, out.time_base = round(at * 1000), Fraction(1, 1000)
            if audio is not None:
                audio.copy_until(at)
            writer.mux(stream_out.encode(out))
            frames += 1
            if progress is not None and track.duration_s > 0:
                progress(min(1.0, at / track.duration_s))
        writer.mux(stream_out.encode(None))
        if audio is not None:
            audio.copy_until(float("inf"))
            audio.close()
    shutil.move(partial, output)  # only a finished file carries the final name
    return frames


class _AudioCopy:
    """Copies an Opus track into the MP4 alongside the video, interleaved by time."""

    def __init__(self, source: Path, offset_s: float, writer: av.container.OutputContainer):
        self._reader = av.open(str(source))
        stream = self._reader.streams.audio[0]
        self._out = writer.add_stream_from_template(stream)
        self._writer = writer
        self._offset = offset_s
        self._packets = (p for p in self._reader.demux(stream) if p.dts is not None)
        self._pending: av.Packet | None = None

    def copy_until(self, video_s: float) -> None:
        """Mux every audio packet that plays before ``video_s`` on the video's clock."""
        while True:
            packet = self._pending or next(self._packets, None)
            self._pending = None
            if packet is None:
                return
            at = float((packet.pts or 0) * packet.time_base) + self._offset
            if at > video_s:
                self._pending = packet
                return
            if at >= 0:  # audio from before the video's first frame is left out
                shift = round(self._offset / packet.time_base)
                packet.pts = packet.dts = (packet.pts or 0) + shift
                packet.stream = self._out
                self._writer.mux(packet)

    def close(self) -> None:
        """Close the audio source."""
        self._reader.close()


class ExportRunner:
    """Runs export jobs on worker threads and answers status queries."""

    def __init__(self, workers: int = 1, key: bytes | None = None) -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="rec-export")
        self._key = key
        self._jobs: dict[str, ExportJob] = {}
        self._futures: dict[str, Future[None]] = {}
        self._lock = threading.Lock()

    def submit(self, directory: Path, output: Path, track_id: str | None = None) -> ExportJob:
        """Queue an export of ``directory``'s recording into ``output``; return its job."""
        job = ExportJob(new_id("exp"), directory.name, output)
        with self._lock:
            self._jobs[job.id] = job
        self._futures[job.id] = self._pool.submit(self._run, job, directory, track_id)
        return job

    def status(self, job_id: str) -> ExportJob:
        """Return the job (its state, progress and error)."""
        try:
            return self._jobs[job_id]
        except KeyError:
            raise NotFoundError(f"no export job {job_id}") from None

    async def wait(self, job_id: str) -> ExportJob:
        """Wait for a job to end (done or failed) and return it."""
        self.status(job_id)
        await asyncio.wrap_future(self._futures[job_id])
        return self._jobs[job_id]

    def close(self) -> None:
        """Stop taking jobs; running ones finish in the background. Idempotent."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    def _set_state(job: ExportJob, state: ExportState) -> None:
        if state is not job.state:
            log.info("export %s: %s -> %s", job.id, job.state.name, state.name)
            job.state = state

    def _run(self, job: ExportJob, directory: Path, track_id: str | None) -> None:
        self._set_state(job, ExportState.RUNNING)

        def progress(value: float) -> None:
            job.progress = value

        try:
            job.frames = render_annotated_mp4(
                directory, job.output, track_id=track_id, key=self._key, progress=progress
            )
        except Exception as exc:  # a job's failure is reported in its status, not raised
            log.exception("export %s failed", job.id)
            job.error = str(exc)
            self._set_state(job, ExportState.FAILED)
            return
        job.progress = 1.0
        self._set_state(job, ExportState.DONE)
