"""Recording in a live room: consent, indicators, tracks, timeline, and the row at the end.

Sessions whose policy is ``full`` or ``metrics_only`` record from the first join. Under
``full`` everyone present is asked (``consent_requested``), and so is every late joiner;
nothing is written until everyone present at the start has answered, and only consenting
participants' tracks are written. Every change of anyone's indicator is sent to everyone
(``recording_state``). Joins, leaves, annotations, analysis (landmarks about 5 Hz), and chat
go on the recording's timeline. A writer failure (full disk) ends the recording, tells
everyone, and the session goes on. See docs/recordings.md.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from aiohttp import web

from media.analysis.events import AnalysisUpdate
from media.recording.consent import ConsentRequested
from media.recording.manifest import TimelineKind
from media.recording.node import RecordingNode
from media.recording.policy import RecordingPolicy
from media.recording.recording import Recording
from media.recording.retention import DEFAULT_RETENTION_DAYS, RetentionPolicy
from media.recording.state import FINAL_STATES, RecordingState
from sessions.exceptions import InvalidStateError
from signaling.annotating import AnnotationFeature
from signaling.coaching import CoachingFeature
from signaling.config import ConfigError, ensure_jwt_secret
from signaling.features import RoomFeature
from signaling.keys import SERVICES_KEY

if TYPE_CHECKING:
    from media.producer import Producer
    from sessions.session import Participant
    from signaling.room import Room
    from signaling.services import Services

log = logging.getLogger(__name__)

#: Seconds between two looks at the annotation log (events keep their own times).
ANNOTATION_POLL_S = 0.5
#: Minimum seconds between two landmark samples of one video (about 5 Hz).
LANDMARK_INTERVAL_S = 0.2


def recording_node(services: Services) -> RecordingNode:
    """The node's recordings (created with the services, one per node)."""
    node = services.recordings
    if node is None:
        node = services.recordings = build_recording_node(services)
    return node


def build_recording_node(services: Services) -> RecordingNode:
    """Recordings root, repository, recovery and retention, from the node's settings."""
    settings = services.settings
    return RecordingNode(
        data_dir=settings.data_dir,
        store_getter=lambda: services.store,
        bus=services.bus,
        clock=services.clock,
        link_key_source=lambda: _link_key(ensure_jwt_secret(settings)),
        node_name=settings.node_id or "local",
        encryption_key=_encryption_key(settings.recording_key),
        retention=RetentionPolicy(
            default_days=settings.recording_retention_days.get("default", DEFAULT_RETENTION_DAYS),
            days_by_kind={
                k: v for k, v in settings.recording_retention_days.items() if k != "default"
            },
        ),
    )


def _encryption_key(encoded: str) -> bytes | None:
    """The AES-256-GCM key of ``recording_key`` (base64 of 32 bytes), or None."""
    if not encoded:
        return None
    try:
        key = base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise ConfigError("recording_key must be base64") from exc
    if len(key) != 32:
        raise ConfigError("recording_key must decode to 32 bytes (AES-256)")
    return key


def _link_key(secret: str) -> bytes:
    import hashlib

    # A key of its own, derived so that a link can never be mistaken for a token.
    return hashlib.sha256(b"teleguide recording links\n" + secret.encode()).digest()


async def recordings_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: recover interrupted recordings at start, run retention until stop."""
    node = recording_node(app[SERVICES_KEY])
    await node.ready()
    purge = asyncio.ensure_future(node.run_purge_loop())
    try:
        yield
    finally:
        purge.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await purge
        node.close()


class RecordingFeature(RoomFeature):
    """The recording side of one room."""

    name = "recording"

    def __init__(self, room: Room) -> None:
        super().__init__(room)
        self.node = recording_node(room.services)
        self.policy = RecordingPolicy(room.session.recording_policy.value)
        self.recording: Recording | None = None
        self._indicators: dict[str, str] = {}
        self._identities: set[str] = set()
        self._start_lock = asyncio.Lock()
        self._annotation_seq = 0
        self._poller: asyncio.Task[None] | None = None
        self._landmarks_at: dict[str, float] = {}
        self._saving: asyncio.Lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        """Whether this room records at all."""
        return self.policy is not RecordingPolicy.OFF

    def snapshot(self) -> dict[str, Any] | None:
        """The recording's state and everyone's indicator, for a newcomer."""
        if not self.enabled:
            return None
        return self._state_message()

    # -- hooks ---------------------------------------------------------------------------

    async def participant_joined(self, participant: Participant, reconnected: bool) -> None:
        """Start the recording at the first join; ask the newcomer for consent."""
        recording = await self._ensure_started()
        if recording is None:
            return
        self._identities.add(participant.identity)
        if participant.hidden or (reconnected and participant.id in self._indicators):
            # Hidden monitors publish nothing; a reconnect is the same presence, same answer.
            recording.record_event(TimelineKind.JOIN, actor=participant.id)
        else:
            for event in recording.participant_joined(participant.id):
                if isinstance(event, ConsentRequested):
                    self._ask(event.participant_id)
        self._push_state()

    async def participant_left(self, participant: Participant, reason: str) -> None:
        """Stop the participant's tracks; they are asked again if they come back."""
        if self.recording is None:
            return
        self.recording.participant_left(participant.id)
        self._indicators.pop(participant.id, None)
        self._push_state()

    def producer_added(self, participant: Participant, producer: Producer) -> None:
        """Write the new track once its participant may be recorded."""
        if self.recording is not None and not participant.hidden:
            self.recording.add_producer(producer)

    def producer_removed(self, producer_id: str) -> None:
        """Finish the track of a producer that ended."""
        if self.recording is not None:
            self.recording.remove_producer(producer_id)

    async def closing(self) -> None:
        """Stop the recording, and store it on the ticket."""
        recording = self.recording
        if recording is None:
            return
        if self._poller is not None:
            self._poller.cancel()
        self._pull_annotations()
        manifest = await recording.stop()
        await recording.close()
        self._push_state(force=True)  # everyone's indicator goes off
        await self._drain()
        await self.node.finished(manifest, self._identities)

    # -- consent -------------------------------------------------------------------------

    def answer(self, participant: Participant, granted: bool) -> str:
        """Apply a participant's consent answer (or withdrawal); return their indicator."""
        recording = self.recording
        if recording is None or recording.state in FINAL_STATES:
            raise InvalidStateError("this session is not being recorded")
        recording.answer_consent(participant.id, granted)
        self._push_state()
        return recording.indicator(participant.id).value

    def _ask(self, participant_id: str) -> None:
        assert self.recording is not None
        self.room.send_to(
            participant_id,
            {
                "type": "consent_requested",
                "recording_id": self.recording.id,
                "policy": self.policy.value,
            },
        )

    # -- starting ------------------------------------------------------------------------

    async def _ensure_started(self) -> Recording | None:
        if not self.enabled:
            return None
        async with self._start_lock:
            if self.recording is None:
                await self.node.ready()  # recovery first: it must not see our live files
                self.recording = await self._start()
        return self.recording

    async def _start(self) -> Recording:
        session = self.room.session
        ticket = await self.room.services.store.get_ticket(session.ticket_id)
        recording = Recording(
            root=self.node.root,
            session_id=session.id,
            ticket_id=session.ticket_id,
            ticket_kind=ticket.kind.value,
            policy=self.policy,
            clock=self.room.services.clock,
            encryption_key=self.node.encryption_key,
            on_state=self._on_state,
        )
        await recording.start()
        await self._save(recording)
        await self.room.timeline("system", "recording_started", {"recording_id": recording.id})
        # Features are all built before the first join, so the coaching one is there now.
        self.room.feature(CoachingFeature).update_observers.append(self._on_analysis)
        self._poller = asyncio.ensure_future(self._poll_annotations())
        # No await from here on: a producer added meanwhile would find no recording.
        for producer in self.room.router.producers():
            participant = session.participants.get(producer.participant_id)
            if participant is not None and not participant.hidden:
                recording.add_producer(producer)
        return recording

    # -- state and indicators ------------------------------------------------------------

    def _on_state(self, recording: Recording, state: RecordingState) -> None:
        self._spawn(self._save(recording))
        if state is RecordingState.FAILED:
            # The session goes on without a recording; everyone sees it stopped, and why.
            self._push_state(force=True)
            self._spawn(
                self.room.timeline(
                    "system",
                    "recording_failed",
                    {"recording_id": recording.id, "reason": recording.reason},
                )
            )

    def _state_message(self) -> dict[str, Any]:
        recording = self.recording
        return {
            "type": "recording_state",
            "recording_id": recording.id if recording else None,
            "policy": self.policy.value,
            "state": recording.state.value if recording else "starting",
            "reason": recording.reason if recording else None,
            "indicators": dict(self._indicators),
        }

    def _push_state(self, force: bool = False) -> None:
        recording = self.recording
        if recording is None:
            return
        indicators = {}
        for participant in self.room.session.present_participants():
            if participant.hidden:
                continue
            with contextlib.suppress(Exception):  # not in the consent book (yet)
                indicators[participant.id] = recording.indicator(participant.id).value
        if indicators != self._indicators or force:
            self._indicators = indicators
            self.room.broadcast(self._state_message())

    async def _save(self, recording: Recording) -> None:
        # One write at a time, each of the newest manifest: the last one always wins.
        async with self._saving:
            try:
                await self.node.repository.save(
                    recording.manifest.model_copy(deep=True),
                    self.node.relative(recording.directory),
                    self._identities,
                )
            except Exception:
                log.exception("could not store the row of %r", recording)

    # -- timeline sources ----------------------------------------------------------------

    def _on_analysis(self, participant_id: str, producer_id: str, update: AnalysisUpdate) -> None:
        recording = self.recording
        if recording is None or recording.state in FINAL_STATES:
            return
        now = time.monotonic()
        due = now - self._landmarks_at.get(producer_id, -1e9) >= LANDMARK_INTERVAL_S
        if update.landmarks is not None and due:
            self._landmarks_at[producer_id] = now
            recording.record_event(
                TimelineKind.LANDMARKS,
                {
                    "producer_id": producer_id,
                    "landmarks": update.landmarks,
                    "angles": update.angles,
                },
                actor=participant_id,
            )
        if update.rep is not None or update.cue is not None or update.notice is not None:
            data = update.to_dict()
            data.pop("landmarks", None)
            recording.record_event(
                TimelineKind.ANALYSIS, {"producer_id": producer_id, **data}, actor=participant_id
            )

    async def _poll_annotations(self) -> None:
        while True:
            await asyncio.sleep(ANNOTATION_POLL_S)
            self._pull_annotations()

    def _pull_annotations(self) -> None:
        recording = self.recording
        if recording is None:
            return
        log_ = self.room.feature(AnnotationFeature).log
        events = log_.events_since(self._annotation_seq)
        if events is None:  # the log dropped old events: take what it still has
            events = log_.events_since(log_.seq - 1) or []
        for event in events:
            recording.record_event(
                TimelineKind.ANNOTATION, event.to_wire(), actor=event.participant_id, at=event.at
            )
            self._annotation_seq = max(self._annotation_seq, event.seq or 0)

    def chat(self, participant: Participant, message: dict[str, Any]) -> None:
        """Put a chat message on the recording's timeline as it is sent."""
        if self.recording is not None and self.recording.state not in FINAL_STATES:
            self.recording.record_event(
                TimelineKind.CHAT, {"text": message["text"]}, actor=participant.identity
            )

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self) -> None:
        while pending := [t for t in self._tasks if not t.done()]:
            await asyncio.gather(*pending, return_exceptions=True)
