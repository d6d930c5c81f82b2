"""Live posture coaching in a room: which videos are analysed, who hears the feedback.

In guided-exercise and group sessions every video that a patient, technician or trainee
publishes is analysed (staff are not: they demonstrate and watch). Frames go to the analysis
scheduler through the producer's frame observer, which decodes only while someone observes and
always hands over the newest frame; media never waits for analysis. Feedback goes to the
person analysed and to the staff in the room, never to other trainees.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from media.analysis.events import AnalysisUpdate
from media.analysis.library import LANGUAGES
from media.analysis.live import AnalysisScheduler, StreamAnalyzer
from media.producer import Producer
from sessions.grants import STAFF_ROLES
from sessions.session import Participant, SessionKind

log = logging.getLogger(__name__)

COACHED_KINDS = frozenset({SessionKind.GUIDED_EXERCISE, SessionKind.GROUP_ONBOARDING})
DEFAULT_EXERCISE = "squat"

Send = Callable[[str, dict[str, Any]], None]


@dataclass
class CoachedStream:
    """One analysed video."""

    participant: Participant
    producer: Producer
    stream: StreamAnalyzer
    observer: Callable[[Any], None]
    latest_reps: int = 0


@dataclass
class Coaching:
    """The analysis side of one room."""

    kind: SessionKind
    scheduler: AnalysisScheduler | None
    send: Send
    staff_ids: Callable[[], list[str]]
    targets: dict[str, Any] = field(default_factory=dict)
    streams: dict[str, CoachedStream] = field(default_factory=dict)
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        """Whether this room analyses videos at all."""
        return self.scheduler is not None and self.kind in COACHED_KINDS

    def default_exercise(self) -> str:
        """The ticket's first exercise with targets, or squat."""
        return next(iter(self.targets), DEFAULT_EXERCISE)

    def producer_added(self, participant: Participant, producer: Producer, language: str) -> None:
        """Start analysing a trainee's new video."""
        if not self.enabled or producer.kind != "video" or participant.role in STAFF_ROLES:
            return
        assert self.scheduler is not None
        exercise = self.default_exercise()
        stream = self.scheduler.add_stream(
            producer.id,
            exercise,
            language if language in LANGUAGES else "en",
            self.targets.get(exercise),
            self._on_update(participant.id, producer.id),
        )
        producer.add_frame_observer(stream.observe)
        self.streams[producer.id] = CoachedStream(participant, producer, stream, stream.observe)
        log.info("analysing %s of %s (%s)", producer.id, participant.identity, exercise)

    def producer_removed(self, producer_id: str) -> None:
        """Stop analysing a video and keep its summary for the ticket."""
        coached = self.streams.pop(producer_id, None)
        if coached is None or self.scheduler is None:
            return
        coached.producer.remove_frame_observer(coached.observer)
        summary = self.scheduler.remove_stream(producer_id)
        if summary:
            self._merge(coached.participant.identity, summary)

    def set_exercise(self, participant_id: str, exercise: str, language: str) -> int:
        """Switch every video of a participant to another exercise; returns how many."""
        switched = 0
        for coached in self.streams.values():
            if coached.participant.id == participant_id:
                coached.stream.set_exercise(exercise, language, self.targets.get(exercise))
                switched += 1
        return switched

    def close(self) -> dict[str, dict[str, Any]]:
        """Stop everything; return each identity's per-exercise summary for the ticket."""
        for producer_id in list(self.streams):
            self.producer_removed(producer_id)
        return self.summaries

    def _merge(self, identity: str, summary: dict[str, Any]) -> None:
        per_identity = self.summaries.setdefault(identity, {})
        for exercise, figures in summary.items():
            if figures.get("reps", 0) or exercise not in per_identity:
                per_identity[exercise] = figures

    def _on_update(self, participant_id: str, producer_id: str) -> Any:
        async def deliver(update: AnalysisUpdate) -> None:
            message = {
                "type": "analysis",
                "participant_id": participant_id,
                "producer_id": producer_id,
                "update": update.to_dict(),
            }
            for target in {participant_id, *self.staff_ids()}:
                self.send(target, message)

        return deliver
