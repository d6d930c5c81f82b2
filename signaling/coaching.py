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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from media.analysis.events import AnalysisUpdate
from media.analysis.library import LANGUAGES
from media.analysis.live import AnalysisScheduler, StreamAnalyzer, UpdateCallback
from media.producer import Producer
from sessions.exceptions import PermissionDeniedError
from sessions.grants import STAFF_ROLES
from sessions.session import Participant, SessionKind
from signaling.features import RoomFeature

if TYPE_CHECKING:
    from signaling.room import Room

log = logging.getLogger(__name__)

COACHED_KINDS = frozenset({SessionKind.GUIDED_EXERCISE, SessionKind.GROUP_ONBOARDING})
DEFAULT_EXERCISE = "squat"
SUMMARY_ACTION = "exercise_summary"


@dataclass
class CoachedStream:
    """One analysed video."""

    participant: Participant
    producer: Producer
    stream: StreamAnalyzer
    observer: Callable[[Any], None]
    latest_reps: int = 0


class CoachingFeature(RoomFeature):
    """The analysis side of one room."""

    name = "coaching"

    def __init__(self, room: Room) -> None:
        super().__init__(room)
        self.scheduler: AnalysisScheduler | None = room.services.analysis
        self.targets: dict[str, Any] = dict(room.targets)
        self.streams: dict[str, CoachedStream] = {}
        self.summaries: dict[str, dict[str, Any]] = {}
        self.update_observers: list[Callable[[str, str, AnalysisUpdate], None]] = []
        """Called with (participant_id, producer_id, update) for every update (recording)."""

    @property
    def enabled(self) -> bool:
        """Whether this room analyses videos at all."""
        return self.scheduler is not None and self.room.session.kind in COACHED_KINDS

    def snapshot(self) -> dict[str, Any] | None:
        """Which videos are analysed, and for which exercise."""
        if not self.enabled:
            return None
        return {
            "default_exercise": self.default_exercise(),
            "streams": [
                {
                    "producer_id": pid,
                    "participant_id": c.participant.id,
                    "exercise": c.stream.exercise,
                }
                for pid, c in self.streams.items()
            ],
        }

    def default_exercise(self) -> str:
        """The ticket's first exercise with targets, or squat."""
        return next(iter(self.targets), DEFAULT_EXERCISE)

    def producer_added(self, participant: Participant, producer: Producer) -> None:
        """Start analysing a trainee's new video."""
        if not self.enabled or producer.kind != "video" or participant.role in STAFF_ROLES:
            return
        assert self.scheduler is not None
        exercise = self.default_exercise()
        language = _cue_language(participant)
        stream = self.scheduler.add_stream(
            producer.id,
            exercise,
            language,
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

    def set_exercise(self, actor: Participant, target_id: str, exercise: str) -> int:
        """Switch a participant's analysed videos to another exercise (self, or as moderator)."""
        if actor.id != target_id and not actor.grants.can_moderate:
            raise PermissionDeniedError("changing someone else's exercise needs can_moderate")
        target = self.room.session.participant(target_id)
        switched = 0
        for coached in self.streams.values():
            if coached.participant.id == target.id:
                coached.stream.set_exercise(
                    exercise, _cue_language(target), self.targets.get(exercise)
                )
                switched += 1
        self.room.broadcast(
            {
                "type": "exercise_changed",
                "participant_id": target.id,
                "exercise": exercise,
                "by": actor.identity,
            }
        )
        return switched

    async def closing(self) -> None:
        """Stop every stream and put each person's summary on the ticket's timeline."""
        for producer_id in list(self.streams):
            self.producer_removed(producer_id)
        for identity, exercises in self.summaries.items():
            await self.room.timeline(
                "system", SUMMARY_ACTION, {"identity": identity, "exercises": exercises}
            )

    def _merge(self, identity: str, summary: dict[str, Any]) -> None:
        per_identity = self.summaries.setdefault(identity, {})
        for exercise, figures in summary.items():
            if figures.get("reps", 0) or exercise not in per_identity:
                per_identity[exercise] = figures

    def _staff_ids(self) -> list[str]:
        session = self.room.session
        return [p.id for p in session.present_participants() if p.role in STAFF_ROLES]

    def _on_update(self, participant_id: str, producer_id: str) -> UpdateCallback:
        async def deliver(update: AnalysisUpdate) -> None:
            message = {
                "type": "analysis",
                "participant_id": participant_id,
                "producer_id": producer_id,
                "update": update.to_dict(),
            }
            for target in {participant_id, *self._staff_ids()}:
                self.room.send_to(target, message)
            for observer in self.update_observers:
                observer(participant_id, producer_id, update)

        return deliver


def _cue_language(participant: Participant) -> str:
    """The participant's language when cues exist in it, English otherwise."""
    return participant.language if participant.language in LANGUAGES else "en"
