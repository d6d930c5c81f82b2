"""TrackWriter: remux one producer's encoded packets into a WebM file, on its own thread.

Nothing is decoded: a VP8 stream is created from its parameters (frame size read from the
first keyframe header) and Opus gets its identification header from an encoder context
that is opened but never fed. The Matroska muxer closes a cluster at least every second
and every cluster is flushed to the file as it closes, so a process killed mid-recording
leaves a file that plays up to about its last second (see recovery.py for the cleanup).
"""

from __future__ import annotations

import errno
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import av.container

from media.recording.codecs import TrackCodec, vp8_frame_size
from media.recording.packet_queue import PacketQueue, QueuedPacket
from media.recording.rebase import TimestampRebaser
from sessions.clock import Clock

log = logging.getLogger(__name__)

#: errno values that mean "no more room": a full disk, a quota, a file size limit.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})

_MUXER_OPTIONS = {
    # Close a cluster at least every second: the most a crash can lose.
    "cluster_time_limit": "1000",
    "cluster_size_limit": str(2 * 1024 * 1024),
}
_MS = Fraction(1, 1000)


class WriterState(StrEnum):
    """Where a TrackWriter is in its life."""

    WAITING_KEYFRAME = "waiting_keyframe"
    WRITING = "writing"
    CLOSED = "closed"
    FAILED = "failed"


FailureCallback = Callable[["TrackWriter", str], None]


class TrackWriter:
    """Writes one track's encoded packets into one WebM file without re-encoding."""

    def __init__(
        self,
        path: Path,
        codec: TrackCodec,
        clock: Clock,
        *,
        queue_size: int = 256,
        on_failed: FailureCallback | None = None,
    ) -> None:
        self.path = path
        self.codec = codec
        self.state = WriterState.WAITING_KEYFRAME
        self.failure: str | None = None
        self.started_at: datetime | None = None
        self.packets_written = 0
        self.last_pts_ms = 0
        self._clock = clock
        self._queue = PacketQueue(queue_size)
        self._on_failed = on_failed
        self._rebaser = TimestampRebaser()
        self._container: av.container.OutputContainer | None = None
        self._stream: av.stream.Stream | None = None
        self._thread = threading.Thread(target=self._run, name=f"rec-{path.stem}", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"TrackWriter({self.path.name}, {self.state.name})"

    @property
    def packets_dropped(self) -> int:
        """Packets dropped because the disk could not keep up."""
        return self._queue.dropped

    @property
    def duration_s(self) -> float:
        """Media time written so far, in seconds."""
        return self.last_pts_ms / 1000

    def push(self, packet: av.Packet, keyframe: bool) -> None:
        """Hand over one encoded frame; never blocks (called on the event loop)."""
        if self.state is WriterState.WAITING_KEYFRAME:
            if not keyframe:
                return
            self.started_at = self._clock.now()
            self._set_state(WriterState.WRITING)
        if self.state is WriterState.WRITING:
            self._queue.put(QueuedPacket(packet, keyframe))

    def close(self, timeout: float | None = None) -> None:
        """Drain the queue and finish the file (blocking; call it from a thread). Idempotent."""
        self._queue.close()
        self._thread.join(timeout)
        if self.state in (WriterState.WAITING_KEYFRAME, WriterState.WRITING):
            self._set_state(WriterState.CLOSED)

    def _set_state(self, state: WriterState) -> None:
        if state is not self.state:
            log.info("%r: %s -> %s", self, self.state.name, state.name)
            self.state = state

    def _run(self) -> None:
        try:
            while (item := self._queue.get()) is not None:
                self._write(item)
        except Exception as exc:  # any muxer error ends this track, never the session
            self._fail(exc)
        finally:
            self._finish()

    def _write(self, item: QueuedPacket) -> None:
        if self.state is WriterState.FAILED:
            return
        pts = self._rebaser.rebase(int(item.packet.pts or 0))
        if pts is None:
            return
        if self._container is None:
            self._open(item.packet)
        packet = item.packet
        packet.pts = packet.dts = pts
        packet.time_base = Fraction(1, self.codec.clock_rate)
        packet.stream = self._stream
        packet.is_keyframe = item.keyframe
        assert self._container is not None
        self._container.mux_one(packet)
        self.packets_written += 1
        self.last_pts_ms = int(pts * 1000 / self.codec.clock_rate)

    def _open(self, first: av.Packet) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        container = av.open(str(self.path), "w", format="webm", options=dict(_MUXER_OPTIONS))
        # Push every cluster to the file as soon as the muxer closes it.
        container.flags |= cast(int, av.container.Flags.flush_packets.value)
        self._container = container
        if self.codec is TrackCodec.VP8:
            width, height = vp8_frame_size(bytes(first)) or (0, 0)
            stream = container.add_mux_stream("vp8", rate=30, width=width, height=height)
        else:
            # Matroska wants an OpusHead as CodecPrivate; an unused encoder context makes it.
            stream = container.add_stream("libopus", rate=48000, layout="stereo")
        stream.time_base = _MS
        self._stream = stream

    def _fail(self, exc: Exception) -> None:
        full = isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS
        reason = "disk_full" if full else f"write_error: {exc}"
        log.error("%r: writing failed: %s", self, exc)
        self.failure = reason
        self._set_state(WriterState.FAILED)
        self._queue.close()
        if self._on_failed is not None:
            self._on_failed(self, reason)

    def _finish(self) -> None:
        container, self._container = self._container, None
        if container is None:
            return
        try:
            container.close()
        except OSError as exc:
            # The trailer (cues, duration) could not be written, typically on a full disk;
            # the clusters already in the file still play.
            log.warning("%r: could not finish the file: %s", self, exc)
