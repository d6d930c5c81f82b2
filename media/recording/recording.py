"""Recording: one session's recording, from consent to finished files and manifest.

The Recording is driven by the session (joins, leaves, consent answers, producers, timeline
events) on the event loop, and never blocks it: packets go to TrackWriter threads, and the
manifest and timeline are written by one I/O thread in submission order. A writer failure
(a full disk) stops the recording with a reason; the session itself goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import av

from media.recording.codecs import TrackCodec
from media.recording.consent import ConsentBook, ConsentEvent, Indicator, PermissionChanged
from media.recording.crypto import ENCRYPTED_SUFFIX, encrypt_file
from media.recording.manifest import (
    Manifest,
    TimelineEvent,
    TimelineKind,
    TrackEntry,
    append_timeline,
    write_manifest,
)
from media.recording.policy import RecordingPolicy
from media.recording.state import FINAL_STATES, RecordingState, check_transition
from media.recording.writer import TrackWriter, WriterState
from sessions.clock import Clock
from sessions.exceptions import ValidationError
from sessions.ids import new_id

log = logging.getLogger(__name__)

PacketObserver = Callable[[av.Packet, bool], None]
StateListener = Callable[["Recording", RecordingState], None]


class RecordableProducer(Protocol):
    """What the Recording needs of a media Producer."""

    id: str
    participant_id: str
    kind: str

    @property
    def codec(self) -> str:
        """MIME type, e.g. ``video/VP8``."""
        ...

    def add_packet_observer(self, observer: PacketObserver) -> None:
        """Start receiving (packet, keyframe) for every encoded frame."""
        ...

    def remove_packet_observer(self, observer: PacketObserver) -> None:
        """Stop receiving encoded frames."""
        ...


class _Track:
    """A producer being written: its writer, its manifest entry, and the packet observer."""

    def __init__(
        self,
        producer: RecordableProducer,
        writer: TrackWriter,
        entry: TrackEntry,
        on_began: Callable[[_Track], None],
    ) -> None:
        self.producer = producer
        self.writer = writer
        self.entry = entry
        self._on_began = on_began

    def observe(self, packet: av.Packet, keyframe: bool) -> None:
        """Packet observer registered on the producer (runs on the event loop)."""
        waiting = self.writer.state is WriterState.WAITING_KEYFRAME
        self.writer.push(packet, keyframe)
        if waiting and self.writer.state is WriterState.WRITING:
            self._on_began(self)


class Recording:
    """One session's recording under a policy, with consent, tracks and a timeline."""

    def __init__(
        self,
        *,
        root: Path,
        session_id: str,
        ticket_id: str,
        ticket_kind: str,
        policy: RecordingPolicy,
        clock: Clock,
        encryption_key: bytes | None = None,
        queue_size: int = 256,
        on_state: StateListener | None = None,
    ) -> None:
        if policy is RecordingPolicy.OFF:
            raise ValidationError("the session's recording policy is off")
        self.id = new_id("rec")
        self.directory = root / self.id
        self.policy = policy
        self.state = RecordingState.PENDING_CONSENT
        self.reason: str | None = None
        self.consent = ConsentBook(policy)
        self._clock = clock
        self._key = encryption_key
        self._queue_size = queue_size
        self._on_state = on_state
        self._producers: dict[str, RecordableProducer] = {}
        self._tracks: dict[str, _Track] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._io = ThreadPoolExecutor(1, thread_name_prefix=f"rec-io-{self.id}")
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.manifest = Manifest(
            recording_id=self.id,
            session_id=session_id,
            ticket_id=ticket_id,
            ticket_kind=ticket_kind,
            policy=policy,
            state=self.state,
            started_at=clock.now(),
        )

    def __repr__(self) -> str:
        return f"Recording({self.id}, {self.state.name})"

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Create the directory and first manifest; media time 0 is now."""
        self._loop = asyncio.get_running_loop()
        self.manifest.started_at = self._clock.now()
        await self._run_io(self.directory.mkdir, parents=True, exist_ok=False)
        await self._run_io(write_manifest, self.directory, self.manifest.model_copy(deep=True))
        if self.policy is RecordingPolicy.METRICS_ONLY:
            self._set_state(RecordingState.RECORDING)

    async def stop(self) -> Manifest:
        """Finish every track and the manifest; return the final manifest."""
        if self.state in FINAL_STATES or self.state is RecordingState.STOPPING:
            await self._drain_tasks()
            return self.manifest
        self._set_state(RecordingState.STOPPING)
        await self._finish(RecordingState.COMPLETE)
        return self.manifest

    async def close(self) -> None:
        """Stop if still running and release the I/O thread. Idempotent."""
        if self._closed:
            return
        await self.stop()
        await self._run_io(lambda: None)  # everything submitted before is written
        self._closed = True
        self._io.shutdown(wait=False)

    def _set_state(self, state: RecordingState) -> None:
        if state is self.state:
            return
        check_transition(self.state, state)
        log.info("%r: %s -> %s", self, self.state.name, state.name)
        self.state = self.manifest.state = state
        self.manifest.reason = self.reason
        self.record_event(TimelineKind.RECORDING, {"state": state.value, "reason": self.reason})
        if state is RecordingState.RECORDING:
            self._save_manifest()
        if self._on_state is not None:
            self._on_state(self, state)

    # --- participants and consent --------------------------------------------------------

    def participant_joined(self, participant_id: str) -> list[ConsentEvent]:
        """Note a join; return the consent requests to send (none once the recording is over)."""
        self.record_event(TimelineKind.JOIN, actor=participant_id)
        if not self._accepting():
            return []
        return self._apply(self.consent.join(participant_id))

    def participant_left(self, participant_id: str) -> list[ConsentEvent]:
        """Note a leave; their tracks stop."""
        self.record_event(TimelineKind.LEAVE, actor=participant_id)
        for producer in [p for p in self._producers.values() if p.participant_id == participant_id]:
            self.remove_producer(producer.id)
        return self._apply(self.consent.leave(participant_id))

    def answer_consent(self, participant_id: str, granted: bool) -> list[ConsentEvent]:
        """Apply a consent answer (or a withdrawal); tracks start or stop accordingly."""
        if not self._accepting():
            return []
        events = self.consent.answer(participant_id, granted)
        self.record_event(TimelineKind.CONSENT, {"granted": granted}, actor=participant_id)
        return self._apply(events)

    def indicator(self, participant_id: str) -> Indicator:
        """What this participant's recording indicator shows."""
        if self.state in FINAL_STATES or self.state is RecordingState.STOPPING:
            return Indicator.OFF
        return self.consent.indicator(participant_id)

    def _apply(self, events: list[ConsentEvent]) -> list[ConsentEvent]:
        for event in events:
            if isinstance(event, PermissionChanged):
                self._permission_changed(event)
        if self.state is RecordingState.PENDING_CONSENT and self.consent.media_started:
            self._set_state(RecordingState.RECORDING)
        return events

    def _permission_changed(self, event: PermissionChanged) -> None:
        for producer in list(self._producers.values()):
            if producer.participant_id != event.participant_id:
                continue
            if event.allowed:
                self._start_track(producer)
            else:
                self._stop_track(producer.id)

    # --- producers and tracks ------------------------------------------------------------

    def add_producer(self, producer: RecordableProducer) -> None:
        """A producer appeared; it is written as soon as its participant may be recorded."""
        self._producers[producer.id] = producer
        if self.consent.may_record(producer.participant_id) and self._accepting():
            self._start_track(producer)

    def remove_producer(self, producer_id: str) -> None:
        """A producer went away; its track file is finished."""
        self._producers.pop(producer_id, None)
        self._stop_track(producer_id)

    def tracks(self) -> list[TrackEntry]:
        """The manifest's track entries so far."""
        return list(self.manifest.tracks)

    def _accepting(self) -> bool:
        return self.state in (RecordingState.PENDING_CONSENT, RecordingState.RECORDING)

    def _start_track(self, producer: RecordableProducer) -> None:
        if producer.id in self._tracks or not self._accepting():
            return
        codec = TrackCodec.from_mime(producer.codec)
        track_id = new_id("trk")
        entry = TrackEntry(
            track_id=track_id,
            producer_id=producer.id,
            participant_id=producer.participant_id,
            kind=codec.kind,
            codec=codec.value,
            file=f"{track_id}.webm",
        )
        writer = TrackWriter(
            self.directory / entry.file,
            codec,
            self._clock,
            queue_size=self._queue_size,
            on_failed=self._writer_failed_threadsafe,
        )
        track = _Track(producer, writer, entry, self._track_began)
        self._tracks[producer.id] = track
        self.manifest.tracks.append(entry)
        producer.add_packet_observer(track.observe)

    def _track_began(self, track: _Track) -> None:
        started = track.writer.started_at or self._clock.now()
        track.entry.start_wall = started
        track.entry.start_media_s = self.media_time(started)
        self.record_event(
            TimelineKind.TRACK_STARTED,
            {"track_id": track.entry.track_id, "kind": track.entry.kind},
            actor=track.entry.participant_id,
        )
        self._save_manifest()

    def _stop_track(self, producer_id: str) -> None:
        track = self._tracks.pop(producer_id, None)
        if track is None:
            return
        track.producer.remove_packet_observer(track.observe)
        self.record_event(
            TimelineKind.TRACK_STOPPED,
            {"track_id": track.entry.track_id},
            actor=track.entry.participant_id,
        )
        self._spawn(self._close_track(track))

    async def _close_track(self, track: _Track) -> None:
        await asyncio.to_thread(track.writer.close)
        self._update_entry(track)
        self._save_manifest()

    def _update_entry(self, track: _Track) -> None:
        entry, writer = track.entry, track.writer
        entry.duration_s = writer.duration_s
        entry.packets = writer.packets_written
        entry.dropped = writer.packets_dropped
        entry.failure = writer.failure

    # --- failures ------------------------------------------------------------------------

    def _writer_failed_threadsafe(self, writer: TrackWriter, reason: str) -> None:
        # Called on the writer's thread; everything else happens on the loop.
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._writer_failed, writer, reason)

    def _writer_failed(self, writer: TrackWriter, reason: str) -> None:
        if not self._accepting():
            return
        log.error("%r: stopping, a track failed: %s", self, reason)
        self.reason = reason
        self._set_state(RecordingState.STOPPING)
        self._spawn(self._finish(RecordingState.FAILED))

    async def _finish(self, final: RecordingState) -> None:
        for producer_id in list(self._tracks):
            self._stop_track(producer_id)
        await self._drain_tasks()
        if self._key is not None:
            await self._encrypt_tracks()
        self.manifest.ended_at = self._clock.now()
        self._set_state(final)
        self.manifest.timeline.sort(key=lambda e: (e.media_s, e.seq))
        try:
            await self._run_io(write_manifest, self.directory, self.manifest.model_copy(deep=True))
        except OSError as exc:
            # Typically the full disk that stopped us; the last manifest on disk still says
            # "recording", so recovery on the next start marks it interrupted.
            log.error("%r: could not write the final manifest: %s", self, exc)

    async def _encrypt_tracks(self) -> None:
        assert self._key is not None
        await self._run_io(_encrypt_entries, self.directory, self.manifest.tracks, self._key)

    # --- timeline ------------------------------------------------------------------------

    def media_time(self, when: datetime | None = None) -> float:
        """Seconds since the recording started, at ``when`` (default now)."""
        when = when or self._clock.now()
        return max(0.0, (when - self.manifest.started_at).total_seconds())

    def record_event(
        self,
        kind: TimelineKind,
        data: dict[str, Any] | None = None,
        actor: str | None = None,
        at: datetime | None = None,
    ) -> TimelineEvent | None:
        """Add an event to the timeline at its media time; None once the recording is over."""
        if self.state in FINAL_STATES and kind is not TimelineKind.RECORDING:
            return None
        at = at or self._clock.now()
        event = TimelineEvent(
            seq=len(self.manifest.timeline) + 1,
            media_s=round(self.media_time(at), 3),
            at=at,
            kind=kind,
            actor=actor,
            data=dict(data or {}),
        )
        self.manifest.timeline.append(event)
        if self._loop is not None and not self._closed:
            self._io.submit(append_timeline, self.directory, event)
        return event

    # --- plumbing ------------------------------------------------------------------------

    def _save_manifest(self) -> None:
        if self._loop is not None and not self._closed:
            self._io.submit(write_manifest, self.directory, self.manifest.model_copy(deep=True))

    async def _run_io(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._io, lambda: func(*args, **kwargs))

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain_tasks(self) -> None:
        current = asyncio.current_task()
        while pending := [t for t in self._tasks if t is not current and not t.done()]:
            with contextlib.suppress(Exception):
                await asyncio.gather(*pending)


def _encrypt_entries(directory: Path, entries: list[TrackEntry], key: bytes) -> None:
    """Encrypt every plaintext track file and update its entry (blocking: the I/O thread)."""
    for entry in entries:
        plain = directory / entry.file
        if entry.encrypted or not plain.exists():
            continue
        sealed = plain.with_name(plain.name + ENCRYPTED_SUFFIX)
        try:
            encrypt_file(plain, sealed, key)
        except OSError as exc:
            # No room to encrypt: keep the plaintext (marked so in the manifest) rather
            # than lose the recording; recovery encrypts it once there is room.
            log.error("could not encrypt %s: %s", plain, exc)
            sealed.unlink(missing_ok=True)
            continue
        plain.unlink()
        entry.file, entry.encrypted = sealed.name, True
