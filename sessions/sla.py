"""SLA policy: per-tier windows, the deadlines they give, and the state of a ticket's clocks.

Pure: deadlines are computed once and stored on the ticket; the state of each clock is a
function of the ticket, ``now`` and the policy, so a restart or a second node sees the same
thing. See docs/sla.md for the tiers and the units.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sessions.calendar import BusinessCalendar
from sessions.exceptions import ValidationError
from sessions.tickets import SlaDeadlines, Ticket, TicketStatus, Tier

#: The instant after a deadline is the first breached one ("within 1 hour" includes the hour).
_TICK = timedelta(microseconds=1)
_WINDOW = re.compile(r"^\s*(\d+)\s*(wm|wh|wd|m|h|d)\s*$")
_OFF = frozenset({"", "none", "off"})
_WINDOW_NAMES = ("response", "resolution", "callback")
_POLICY_KEYS = frozenset({"at_risk_fraction", "tiers"})


class WindowUnit(StrEnum):
    """The unit a window is counted in; the ``w`` units count working time only."""

    MINUTES = "m"
    HOURS = "h"
    DAYS = "d"
    WORKING_MINUTES = "wm"
    WORKING_HOURS = "wh"
    WORKING_DAYS = "wd"


_WALL_LENGTH = {
    WindowUnit.MINUTES: timedelta(minutes=1),
    WindowUnit.HOURS: timedelta(hours=1),
    WindowUnit.DAYS: timedelta(days=1),
    WindowUnit.WORKING_MINUTES: timedelta(minutes=1),
    WindowUnit.WORKING_HOURS: timedelta(hours=1),
}


@dataclass(frozen=True, slots=True)
class SlaWindow:
    """How long one clock may run, e.g. ``2wh`` (two working hours) or ``24h`` (wall clock)."""

    amount: int
    """How many units."""
    unit: WindowUnit
    """Which unit."""

    @classmethod
    def parse(cls, text: str) -> SlaWindow:
        """Parse ``"90m"``, ``"24h"``, ``"2d"``, ``"30wm"``, ``"2wh"`` or ``"3wd"``."""
        match = _WINDOW.match(text)
        if match is None:
            raise ValidationError(
                f"SLA window must be a whole number and a unit (m, h, d, wm, wh, wd): {text!r}"
            )
        return cls(int(match.group(1)), WindowUnit(match.group(2)))

    def __str__(self) -> str:
        return f"{self.amount}{self.unit.value}"

    @property
    def working(self) -> bool:
        """True when the window counts working time only."""
        return self.unit.value.startswith("w")

    def due(self, start: datetime, calendar: BusinessCalendar) -> datetime:
        """The deadline of a clock that starts at ``start``."""
        if self.unit is WindowUnit.WORKING_DAYS:
            return calendar.add_working_days(start, self.amount)
        length = _WALL_LENGTH[self.unit] * self.amount
        if self.working:
            return calendar.add_working_time(start, length)
        return start + length

    def measure(self, a: datetime, b: datetime, calendar: BusinessCalendar) -> timedelta:
        """Time from ``a`` to ``b`` as this window counts it (working time or wall clock)."""
        return calendar.working_time_between(a, b) if self.working else b - a

    def advance(self, start: datetime, span: timedelta, calendar: BusinessCalendar) -> datetime:
        """The instant at which ``span`` of this window's time has passed after ``start``."""
        return calendar.add_working_time(start, span) if self.working else start + span


@dataclass(frozen=True, slots=True)
class TierWindows:
    """The three windows of one tier; ``callback`` is None when the tier has no follow-up."""

    response: SlaWindow
    """From opening to first response."""
    resolution: SlaWindow
    """From opening to resolution (or, for consults, the answer)."""
    callback: SlaWindow | None
    """From resolution to the follow-up call."""


#: The tiers the after-sales contracts promise (docs/sla.md says why each unit).
DEFAULT_TIERS: dict[Tier, dict[str, str]] = {
    Tier.URGENT: {"response": "1h", "resolution": "24h", "callback": "2h"},
    Tier.ROUTINE: {"response": "2wh", "resolution": "2wd", "callback": "1wd"},
    Tier.CONSULT: {"response": "4wh", "resolution": "3wd", "callback": "none"},
}
DEFAULT_AT_RISK_FRACTION = 0.75


class ClockState(StrEnum):
    """Where one SLA clock stands."""

    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"
    PENDING = "pending"
    """The clock has not started (the callback clock before resolution)."""
    NOT_APPLICABLE = "not_applicable"
    """The tier has no such clock (consults have no callback)."""


#: Worst first: the overall state is the worst state of the clocks that apply.
_SEVERITY = (ClockState.BREACHED, ClockState.AT_RISK, ClockState.ON_TRACK, ClockState.MET)


@dataclass(frozen=True, slots=True)
class ClockStatus:
    """The state of one clock at one instant."""

    state: ClockState
    """Where it stands."""
    due_at: datetime | None = None
    """Its deadline, when it has one."""
    at_risk_at: datetime | None = None
    """When it becomes at risk if still running."""
    stopped_at: datetime | None = None
    """When it stopped (met, or stopped late), None while running."""
    remaining: timedelta | None = None
    """Time left (negative when late), in the window's own unit; at the stop if stopped."""


@dataclass(frozen=True, slots=True)
class SlaState:
    """All clocks of one ticket at one instant."""

    response: ClockStatus
    """First-response clock."""
    resolution: ClockStatus
    """Resolution clock."""
    callback: ClockStatus
    """Follow-up call clock."""
    overall: ClockState
    """The worst of the clocks that apply (``met`` when all are met)."""


class SlaPolicy:
    """Windows per tier, the calendar they count working time in, and the at-risk threshold."""

    def __init__(
        self,
        tiers: Mapping[Tier, TierWindows],
        calendar: BusinessCalendar,
        at_risk_fraction: float = DEFAULT_AT_RISK_FRACTION,
    ) -> None:
        missing = set(Tier) - set(tiers)
        if missing:
            raise ValidationError(f"SLA tiers missing: {sorted(missing)}", field="sla")
        if not 0 < at_risk_fraction < 1:
            raise ValidationError("at_risk_fraction must be between 0 and 1", field="sla")
        self.tiers = dict(tiers)
        self.calendar = calendar
        self.at_risk_fraction = at_risk_fraction

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None, calendar: BusinessCalendar) -> SlaPolicy:
        """Build from ``{"at_risk_fraction": 0.75, "tiers": {"urgent": {"response": "1h"}}}``.

        Tiers and windows not given keep their defaults; ``"none"`` switches a callback off.
        """
        config = dict(config or {})
        unknown = set(config) - _POLICY_KEYS
        if unknown:
            raise ValidationError(f"unknown SLA keys: {sorted(unknown)}", field="sla")
        if not isinstance(config.get("tiers") or {}, Mapping):
            raise ValidationError("sla.tiers must be a table", field="sla")
        overrides = dict(config.get("tiers") or {})
        bad = set(overrides) - {tier.value for tier in Tier}
        if bad:
            raise ValidationError(f"unknown SLA tiers: {sorted(bad)}", field="sla")
        tiers = {tier: _tier_windows(tier, overrides.get(tier.value, {})) for tier in Tier}
        fraction = config.get("at_risk_fraction", DEFAULT_AT_RISK_FRACTION)
        if isinstance(fraction, bool) or not isinstance(fraction, int | float):
            raise ValidationError("at_risk_fraction must be a number", field="sla")
        return cls(tiers, calendar, float(fraction))

    def deadlines_for(self, tier: Tier, opened_at: datetime) -> SlaDeadlines:
        """Response and resolution deadlines of a ticket opened at ``opened_at``."""
        windows = self.tiers[tier]
        return SlaDeadlines(
            response_due_at=windows.response.due(opened_at, self.calendar),
            resolution_due_at=windows.resolution.due(opened_at, self.calendar),
        )

    def callback_due(self, tier: Tier, resolved_at: datetime) -> datetime | None:
        """Deadline of the follow-up call after resolution, None when the tier has none."""
        window = self.tiers[tier].callback
        return None if window is None else window.due(resolved_at, self.calendar)

    def describe(self) -> dict[str, dict[str, str]]:
        """The windows as configuration strings, for docs, logs and the API."""
        return {
            tier.value: {
                "response": str(w.response),
                "resolution": str(w.resolution),
                "callback": "none" if w.callback is None else str(w.callback),
            }
            for tier, w in self.tiers.items()
        }


def _tier_windows(tier: Tier, overrides: Any) -> TierWindows:
    """Parse one tier's windows over its defaults; only the callback may be switched off."""
    if not isinstance(overrides, Mapping):
        raise ValidationError(f"SLA tier {tier.value} must be a table of windows", field="sla")
    config = {**DEFAULT_TIERS[tier], **overrides}
    unknown = set(config) - set(_WINDOW_NAMES)
    if unknown:
        raise ValidationError(f"unknown SLA windows for {tier.value}: {sorted(unknown)}")
    callback = str(config["callback"]).strip().lower()
    return TierWindows(
        response=SlaWindow.parse(str(config["response"])),
        resolution=SlaWindow.parse(str(config["resolution"])),
        callback=None if callback in _OFF else SlaWindow.parse(callback),
    )


def sla_state(ticket: Ticket, now: datetime, policy: SlaPolicy) -> SlaState:
    """The state of every clock of ``ticket`` at ``now`` (pure)."""
    windows = policy.tiers[ticket.tier]
    deadlines = ticket.deadlines
    ended = ticket.closed_at if ticket.status in _FINAL else None
    response = _clock(
        policy,
        windows.response,
        ticket.created_at,
        deadlines.response_due_at,
        _first(ticket.first_response_at, ticket.resolved_at, ended),
        now,
    )
    resolution = _clock(
        policy,
        windows.resolution,
        ticket.created_at,
        deadlines.resolution_due_at,
        _first(ticket.resolved_at, ended),
        now,
    )
    callback = _callback_clock(ticket, now, policy, ended)
    return SlaState(response, resolution, callback, _overall((response, resolution, callback)))


def next_change(ticket: Ticket, now: datetime, policy: SlaPolicy) -> datetime | None:
    """The first instant after ``now`` at which any clock changes state, None if none will.

    Clocks change on their own only while running; stopping one takes a write to the store,
    and whoever writes wakes the scheduler.
    """
    state = sla_state(ticket, now, policy)
    candidates = []
    for clock in (state.response, state.resolution, state.callback):
        if clock.stopped_at is not None or clock.due_at is None:
            continue
        if clock.at_risk_at is not None and clock.at_risk_at > now:
            candidates.append(clock.at_risk_at)
        if clock.due_at + _TICK > now:
            candidates.append(clock.due_at + _TICK)
    return min(candidates, default=None)


_FINAL = frozenset({TicketStatus.CLOSED, TicketStatus.CANCELLED})


def _first(*instants: datetime | None) -> datetime | None:
    """The first given instant that is set (the event that stopped a clock)."""
    return next((instant for instant in instants if instant is not None), None)


def _callback_clock(
    ticket: Ticket, now: datetime, policy: SlaPolicy, ended: datetime | None
) -> ClockStatus:
    """The follow-up clock: starts at resolution, stops when the call is done or on close."""
    window = policy.tiers[ticket.tier].callback
    due = ticket.deadlines.callback_due_at
    if due is None and window is not None and ticket.resolved_at is not None:
        due = policy.callback_due(ticket.tier, ticket.resolved_at)
    if due is None or window is None or ticket.resolved_at is None:
        if window is None and due is None:
            return ClockStatus(ClockState.NOT_APPLICABLE)
        return ClockStatus(ClockState.PENDING, due_at=due)
    stop = _first(ticket.callback_done_at, ended)
    return _clock(policy, window, ticket.resolved_at, due, stop, now)


def _clock(
    policy: SlaPolicy,
    window: SlaWindow,
    start: datetime,
    due: datetime,
    stopped_at: datetime | None,
    now: datetime,
) -> ClockStatus:
    """One clock that runs from ``start`` and is due at ``due``, stopped at ``stopped_at``."""
    calendar = policy.calendar
    if stopped_at is not None and stopped_at <= now:
        state = ClockState.MET if stopped_at <= due else ClockState.BREACHED
        margin = window.measure(stopped_at, due, calendar)
        return ClockStatus(state, due, None, stopped_at, margin)
    total = window.measure(start, due, calendar)
    at_risk_at = window.advance(start, total * policy.at_risk_fraction, calendar)
    if now > due:
        state = ClockState.BREACHED
    elif now >= at_risk_at:
        state = ClockState.AT_RISK
    else:
        state = ClockState.ON_TRACK
    return ClockStatus(state, due, at_risk_at, None, window.measure(now, due, calendar))


def _overall(clocks: tuple[ClockStatus, ...]) -> ClockState:
    """The worst state among the clocks that apply."""
    states = {clock.state for clock in clocks}
    for state in _SEVERITY:
        if state in states:
            return state
    return ClockState.MET
