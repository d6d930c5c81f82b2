"""SLA policy: windows, deadlines per tier, clock states and the next change instant."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessions.calendar import BusinessCalendar
from sessions.exceptions import ValidationError
from sessions.sla import (
    ClockState,
    SlaPolicy,
    SlaWindow,
    WindowUnit,
    next_change,
    sla_state,
)
from sessions.tickets import Ticket, TicketKind, TicketStatus, Tier

BERLIN = BusinessCalendar("Europe/Berlin", holidays=frozenset({date(2025, 12, 25)}))
POLICY = SlaPolicy.from_config(None, BERLIN)
H = timedelta(hours=1)


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Local Berlin wall time as a UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(
        UTC
    )


def ticket(tier: Tier, opened: datetime, policy: SlaPolicy = POLICY, **changes: object) -> Ticket:
    """A ticket opened at ``opened`` with deadlines from ``policy``."""
    base = Ticket(
        id="tkt_test",
        kind=TicketKind.DEVICE_FAULT,
        tier=tier,
        status=TicketStatus.OPEN,
        title="Pump alarms",
        requester="nurse",
        language="de",
        created_at=opened,
        updated_at=opened,
        deadlines=policy.deadlines_for(tier, opened),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# ---- windows and configuration ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "unit", "working"),
    [
        ("90m", 90, WindowUnit.MINUTES, False),
        ("24h", 24, WindowUnit.HOURS, False),
        (" 2 d", 2, WindowUnit.DAYS, False),
        ("30wm", 30, WindowUnit.WORKING_MINUTES, True),
        ("2wh", 2, WindowUnit.WORKING_HOURS, True),
        ("3wd", 3, WindowUnit.WORKING_DAYS, True),
    ],
)
def test_window_parsing(text: str, amount: int, unit: WindowUnit, working: bool) -> None:
    window = SlaWindow.parse(text)
    assert (window.amount, window.unit, window.working) == (amount, unit, working)
    assert SlaWindow.parse(str(window)) == window


@pytest.mark.parametrize("text", ["", "1.5h", "2 hours", "h", "-1h", "3w"])
def test_bad_windows_are_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        SlaWindow.parse(text)


def test_defaults_and_partial_override() -> None:
    assert POLICY.describe() == {
        "urgent": {"response": "1h", "resolution": "24h", "callback": "2h"},
        "routine": {"response": "2wh", "resolution": "2wd", "callback": "1wd"},
        "consult": {"response": "4wh", "resolution": "3wd", "callback": "none"},
    }
    custom = SlaPolicy.from_config(
        {"at_risk_fraction": 0.5, "tiers": {"routine": {"resolution": "48h"}}}, BERLIN
    )
    assert custom.describe()["routine"] == {
        "response": "2wh",
        "resolution": "48h",
        "callback": "1wd",
    }
    assert custom.at_risk_fraction == 0.5


@pytest.mark.parametrize(
    "config",
    [
        {"tiers": {"gold": {"response": "1h"}}},
        {"tiers": {"urgent": {"respons": "1h"}}},
        {"tiers": {"urgent": {"response": "none"}}},
        {"at_risk_fraction": 1.5},
        {"at_risk_fraction": "most"},
        {"tiers": {"urgent": "1h"}},
        {"tiers": ["urgent"]},
        {"tier": {}},
    ],
)
def test_bad_policy_config_is_refused(config: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SlaPolicy.from_config(config, BERLIN)


# ---- deadlines --------------------------------------------------------------------------


def test_urgent_runs_around_the_clock() -> None:
    opened = berlin(2025, 12, 24, 23, 30)  # Christmas Eve, night, holiday next day
    deadlines = POLICY.deadlines_for(Tier.URGENT, opened)
    assert deadlines.response_due_at == opened + H
    assert deadlines.resolution_due_at == opened + 24 * H
    assert POLICY.callback_due(Tier.URGENT, opened) == opened + 2 * H


def test_routine_counts_working_time() -> None:
    opened = berlin(2025, 12, 24, 17, 0)  # Wednesday; Thursday is a holiday
    deadlines = POLICY.deadlines_for(Tier.ROUTINE, opened)
    assert deadlines.response_due_at == berlin(2025, 12, 26, 9, 0)
    assert deadlines.resolution_due_at == berlin(2025, 12, 29, 17, 0)
    assert POLICY.callback_due(Tier.ROUTINE, berlin(2025, 12, 26, 11, 0)) == berlin(
        2025, 12, 29, 11, 0
    )


def test_consult_has_no_callback() -> None:
    opened = berlin(2025, 6, 6, 16, 0)  # Friday
    deadlines = POLICY.deadlines_for(Tier.CONSULT, opened)
    assert deadlines.response_due_at == berlin(2025, 6, 9, 10, 0)
    assert deadlines.resolution_due_at == berlin(2025, 6, 11, 16, 0)
    assert POLICY.callback_due(Tier.CONSULT, opened) is None


# ---- clock states -----------------------------------------------------------------------


def test_urgent_clock_goes_on_track_at_risk_breached() -> None:
    opened = berlin(2025, 6, 2, 10, 0)
    t = ticket(Tier.URGENT, opened)
    assert sla_state(t, opened, POLICY).response.state is ClockState.ON_TRACK
    at_risk = sla_state(t, opened + 45 * timedelta(minutes=1), POLICY).response
    assert at_risk.state is ClockState.AT_RISK
    assert at_risk.remaining == timedelta(minutes=15)
    assert sla_state(t, opened + H, POLICY).response.state is ClockState.AT_RISK
    breached = sla_state(t, opened + 2 * H, POLICY)
    assert breached.response.state is ClockState.BREACHED
    assert breached.response.remaining == -H
    assert breached.overall is ClockState.BREACHED
    assert breached.callback.state is ClockState.PENDING


def test_working_time_window_is_at_risk_by_working_time() -> None:
    opened = berlin(2025, 6, 6, 17, 0)  # Friday, one working hour left
    t = ticket(Tier.ROUTINE, opened)
    # Over the weekend only one working hour of two has passed: 50%, on track.
    weekend = sla_state(t, berlin(2025, 6, 8, 12, 0), POLICY).response
    assert weekend.state is ClockState.ON_TRACK
    assert weekend.remaining == H
    assert weekend.at_risk_at == berlin(2025, 6, 9, 8, 30)
    assert sla_state(t, berlin(2025, 6, 9, 8, 30), POLICY).response.state is ClockState.AT_RISK


def test_stopped_clocks_are_met_or_breached_for_good() -> None:
    opened = berlin(2025, 6, 2, 10, 0)
    on_time = ticket(Tier.URGENT, opened, first_response_at=opened + 30 * timedelta(minutes=1))
    state = sla_state(on_time, opened + 5 * H, POLICY)
    assert state.response.state is ClockState.MET
    assert state.response.remaining == 30 * timedelta(minutes=1)
    assert state.resolution.state is ClockState.ON_TRACK
    assert state.overall is ClockState.ON_TRACK
    late = ticket(Tier.URGENT, opened, first_response_at=opened + 2 * H)
    assert sla_state(late, opened + 5 * H, POLICY).response.state is ClockState.BREACHED


def test_resolved_ticket_runs_the_callback_clock_then_all_met() -> None:
    opened = berlin(2025, 6, 2, 10, 0)
    resolved = opened + 3 * H
    t = ticket(
        Tier.URGENT,
        opened,
        status=TicketStatus.RESOLVED,
        first_response_at=opened + 0.5 * H,
        resolved_at=resolved,
        deadlines=dataclasses.replace(
            POLICY.deadlines_for(Tier.URGENT, opened), callback_due_at=resolved + 2 * H
        ),
    )
    state = sla_state(t, resolved + 1.8 * H, POLICY)
    assert state.callback.state is ClockState.AT_RISK
    assert state.overall is ClockState.AT_RISK
    done = dataclasses.replace(t, status=TicketStatus.CALLBACK_DONE, callback_done_at=resolved + H)
    assert sla_state(done, resolved + 10 * H, POLICY).overall is ClockState.MET


def test_consult_callback_is_not_applicable() -> None:
    opened = berlin(2025, 6, 2, 10, 0)
    t = ticket(Tier.CONSULT, opened, status=TicketStatus.RESOLVED, resolved_at=opened + H)
    state = sla_state(t, opened + 2 * H, POLICY)
    assert state.callback.state is ClockState.NOT_APPLICABLE
    assert state.overall is ClockState.MET


def test_cancelling_stops_the_clocks() -> None:
    opened = berlin(2025, 6, 2, 10, 0)
    t = ticket(Tier.URGENT, opened, status=TicketStatus.CANCELLED, closed_at=opened + 0.25 * H)
    assert sla_state(t, opened + 48 * H, POLICY).overall is ClockState.MET
    assert next_change(t, opened + 48 * H, POLICY) is None


def test_next_change_walks_through_every_transition() -> None:
    opened = berlin(2025, 6, 2, 10, 0)
    t = ticket(Tier.URGENT, opened)
    wakeups = []
    now = opened
    while (wake := next_change(t, now, POLICY)) is not None:
        assert wake > now
        wakeups.append(wake)
        now = wake
    tick = timedelta(microseconds=1)
    assert wakeups == [
        opened + 0.75 * H,
        opened + H + tick,
        opened + 18 * H,
        opened + 24 * H + tick,
    ]


# ---- properties --------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
zones = st.sampled_from(["Asia/Shanghai", "Europe/Berlin", "America/New_York"])


def clock_states(t: Ticket, at: datetime, policy: SlaPolicy) -> tuple[ClockState, ...]:
    """The states of the three clocks at ``at``."""
    state = sla_state(t, at, policy)
    return state.response.state, state.resolution.state, state.callback.state


@settings(max_examples=100, deadline=None)
@given(
    zone=zones,
    tier=st.sampled_from(list(Tier)),
    opened=instants,
    offset=st.timedeltas(timedelta(0), timedelta(days=10)),
)
def test_state_changes_exactly_at_next_change(
    zone: str, tier: Tier, opened: datetime, offset: timedelta
) -> None:
    policy = SlaPolicy.from_config(None, BusinessCalendar(zone))
    t = ticket(tier, opened, policy)
    now = opened + offset
    wake = next_change(t, now, policy)
    if wake is None:
        assert sla_state(t, now, policy).overall is ClockState.BREACHED
        return
    assert wake > now
    # States only move forward, so equal at both ends means unchanged in between.
    assert clock_states(t, wake - timedelta(microseconds=1), policy) == clock_states(t, now, policy)
    assert clock_states(t, wake, policy) != clock_states(t, now, policy)


@settings(max_examples=100, deadline=None)
@given(zone=zones, tier=st.sampled_from(list(Tier)), opened=instants)
def test_deadlines_give_exactly_the_window(zone: str, tier: Tier, opened: datetime) -> None:
    policy = SlaPolicy.from_config(None, BusinessCalendar(zone))
    deadlines = policy.deadlines_for(tier, opened)
    assert opened < deadlines.response_due_at <= deadlines.resolution_due_at
    response = policy.tiers[tier].response
    expected = {WindowUnit.HOURS: H, WindowUnit.WORKING_HOURS: H}[response.unit] * response.amount
    assert response.measure(opened, deadlines.response_due_at, policy.calendar) == expected
