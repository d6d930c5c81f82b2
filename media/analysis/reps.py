"""Sans-I/O rep counter: fed (t_seconds, angle or None), hands back rep events.

The driving angle moves from a rest zone into a working zone and back. Zones have
hysteresis, zone changes are debounced in time, the signal is median+EMA filtered, and a
gap longer than ``max_gap_s`` drops a rep in progress and waits for a confirmed rest,
so a person who leaves and comes back neither adds nor loses reps.
"""

from __future__ import annotations

import logging

from media.analysis.events import (
    RepAbandoned,
    RepCompleted,
    RepEvent,
    RepPhase,
    RepStarted,
)
from media.analysis.library import RepSpec
from media.analysis.smoothing import AngleFilter

logger = logging.getLogger(__name__)

_IN_REP = (RepPhase.MOVING, RepPhase.ACTIVE, RepPhase.RETURNING)


class _RepTrace:
    """Extremes and timing of the rep in progress."""

    def __init__(self, start_s: float, angle: float) -> None:
        self.start_s = start_s
        self.min_angle = angle
        self.max_angle = angle
        self.peak_s = start_s
        self.peak_value = float("-inf")

    def add(self, t: float, angle: float, work_value: float) -> None:
        """Record a sample; ``work_value`` grows towards the working zone."""
        self.min_angle = min(self.min_angle, angle)
        self.max_angle = max(self.max_angle, angle)
        if work_value > self.peak_value:
            self.peak_value, self.peak_s = work_value, t


class RepCounter:
    """Counts reps of one exercise from its driving angle."""

    def __init__(self, spec: RepSpec) -> None:
        self.spec = spec
        # Work in "v" = sign * angle so the working zone is always at larger values.
        self._sign = 1.0 if spec.direction == "increase" else -1.0
        self._rest = self._sign * spec.rest_threshold
        self._active = self._sign * spec.active_threshold
        self._filter = AngleFilter(max_gap_s=spec.max_gap_s)
        self.phase = RepPhase.IDLE
        self.count = 0
        self.angle: float | None = None
        """Latest filtered angle, None while nothing is measured."""
        self._since: dict[str, float] = {}
        """Zone name -> time the filtered angle entered it (while it stays there)."""
        self._last_seen: float | None = None
        self._last_rest_t = 0.0
        self._last_rest_angle = 0.0
        self._trace: _RepTrace | None = None

    @property
    def in_rep(self) -> bool:
        """True while a rep is in progress."""
        return self.phase in _IN_REP

    def update(self, t: float, angle: float | None) -> list[RepEvent]:
        """Feed one sample; return the rep events it caused (often none)."""
        events: list[RepEvent] = []
        if self._last_seen is not None and t - self._last_seen > self.spec.max_gap_s:
            self._lose_track(t, events)
        if angle is None:
            self.angle = None
            return events
        self._last_seen = t
        smooth = self._filter.update(t, angle)
        self.angle = smooth
        value = self._sign * smooth
        if self._trace is not None:
            self._trace.add(t, smooth, value)
        if self._zone_is_rest(value):
            self._last_rest_t, self._last_rest_angle = t, smooth
        self._step(t, value, events)
        return events

    def finish(self, t: float) -> list[RepEvent]:
        """End of input: a rep still in progress does not count."""
        events: list[RepEvent] = []
        if self._trace is not None:
            events.append(self._abandon(t, "unfinished"))
        self._set_state(RepPhase.IDLE)
        return events

    def _zone_is_rest(self, value: float) -> bool:
        margin = self.spec.hysteresis if self.phase == RepPhase.REST else 0.0
        return value <= self._rest + margin

    def _track_zones(self, t: float, value: float) -> None:
        """Note since when each zone condition has held without a break."""
        h = self.spec.hysteresis
        held = {
            "rest": value <= self._rest,
            "left_rest": value > self._rest + h,
            "active": value >= self._active,
            "left_active": value < self._active - h,
        }
        for zone, now in held.items():
            if not now:
                self._since.pop(zone, None)
            else:
                self._since.setdefault(zone, t)

    def _held(self, zone: str, t: float) -> float | None:
        """When ``zone`` was entered, if it has held for the debounce time; else None."""
        since = self._since.get(zone)
        if since is None or t - since + 1e-9 < self.spec.debounce_s:
            return None
        return since

    def _target(self, t: float) -> tuple[RepPhase, float] | None:
        """The next phase and when its zone was entered, or None to stay."""
        phase = self.phase
        rest = self._held("rest", t)
        if phase == RepPhase.IDLE:
            return (RepPhase.REST, rest) if rest is not None else None
        if phase == RepPhase.REST:
            left = self._held("left_rest", t)
            return (RepPhase.MOVING, left) if left is not None else None
        if phase in (RepPhase.MOVING, RepPhase.RETURNING):
            active = self._held("active", t)
            if active is not None:
                return RepPhase.ACTIVE, active
            return (RepPhase.REST, rest) if rest is not None else None
        # ACTIVE: at low frame rates a quick rep can go straight from the bottom to rest.
        if rest is not None:
            return RepPhase.REST, rest
        left = self._held("left_active", t)
        return (RepPhase.RETURNING, left) if left is not None else None

    def _step(self, t: float, value: float, events: list[RepEvent]) -> None:
        self._track_zones(t, value)
        # Zones are debounced independently, so a fast movement that crossed two zones
        # while the first change was being confirmed advances two phases at once.
        for _ in range(3):
            target = self._target(t)
            if target is None:
                return
            phase, since = target
            if self.phase == RepPhase.REST and phase == RepPhase.MOVING:
                self._trace = _RepTrace(self._last_rest_t, self._last_rest_angle)
                self._trace.add(t, self._sign * value, value)
                events.append(RepStarted(self.count + 1, self._last_rest_t))
            elif phase == RepPhase.REST and self._trace is not None:
                events.extend(self._close_rep(since))
            self._set_state(phase)

    def _close_rep(self, end_s: float) -> list[RepEvent]:
        trace = self._trace
        assert trace is not None
        reached = self.phase in (RepPhase.ACTIVE, RepPhase.RETURNING)
        if reached and trace.max_angle - trace.min_angle >= self.spec.min_range:
            self.count += 1
            self._trace = None
            rep = RepCompleted(
                index=self.count,
                start_s=trace.start_s,
                end_s=end_s,
                min_angle=round(trace.min_angle, 1),
                max_angle=round(trace.max_angle, 1),
                down_s=round(trace.peak_s - trace.start_s, 2),
                up_s=round(end_s - trace.peak_s, 2),
            )
            return [rep]
        excursion = trace.peak_value - self._rest
        abandoned = self._abandon(end_s, "partial")
        # Small sways around the rest threshold are not attempts worth reporting.
        return [abandoned] if excursion >= self.spec.partial_excursion else []

    def _abandon(self, t: float, reason: str) -> RepAbandoned:
        trace = self._trace
        assert trace is not None
        self._trace = None
        return RepAbandoned(
            trace.start_s, t, round(trace.min_angle, 1), round(trace.max_angle, 1), reason
        )

    def _lose_track(self, t: float, events: list[RepEvent]) -> None:
        if self._trace is not None:
            events.append(self._abandon(t, "lost_track"))
        self._filter.reset()
        self._since.clear()
        self._last_seen = None
        self._set_state(RepPhase.IDLE)

    def _set_state(self, phase: RepPhase) -> None:
        if phase != self.phase:
            logger.debug("rep phase %s -> %s", self.phase.value, phase.value)
            self.phase = phase
