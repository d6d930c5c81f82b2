"""Expert profiles: catalogue validation, working hours across time zones, on-call rota."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from sessions.exceptions import ValidationError
from sessions.servicedesk.catalogue import DEFAULT_CATALOGUE
from sessions.servicedesk.experts import OnCallShift, make_profile, profile_from_json
from sessions.servicedesk.presence import Presence, PresenceBoard

pytestmark = pytest.mark.servicedesk


def test_unknown_skill_is_refused_with_its_name() -> None:
    """A skill outside the catalogue is a ValidationError naming it."""
    with pytest.raises(ValidationError, match="unknown skills: juggling") as info:
        make_profile(
            DEFAULT_CATALOGUE, identity="x", name="X", skills=["juggling"], languages=["en"]
        )
    assert info.value.details["unknown"] == ["juggling"]


def test_unknown_language_zone_and_bad_capacity_are_refused() -> None:
    """Languages, time zones and capacity are all checked."""
    base = {"identity": "x", "name": "X", "skills": ["fes_cycle"]}
    with pytest.raises(ValidationError, match="unknown languages: xx"):
        make_profile(DEFAULT_CATALOGUE, languages=["xx"], **base)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="time zone"):
        make_profile(DEFAULT_CATALOGUE, languages=["en"], timezone="Mars/Olympus", **base)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="capacity"):
        make_profile(DEFAULT_CATALOGUE, languages=["en"], capacity=0, **base)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="wraps"):
        make_profile(
            DEFAULT_CATALOGUE,
            languages=["en"],
            working_hours={0: [(time(22), time(6))]},
            **base,  # type: ignore[arg-type]
        )


def test_working_hours_are_local_to_the_expert() -> None:
    """09:00-17:00 in Shanghai is 01:00-09:00 UTC; holidays are off."""
    profile = make_profile(
        DEFAULT_CATALOGUE,
        identity="li",
        name="Li",
        skills=["RehaMove 3"],
        languages=["zh-CN"],
        timezone="Asia/Shanghai",
    )
    wednesday = datetime(2026, 3, 4, tzinfo=UTC)
    assert profile.in_working_hours(wednesday.replace(hour=2))
    assert not profile.in_working_hours(wednesday.replace(hour=10))
    assert not profile.in_working_hours(wednesday.replace(hour=2), holidays={date(2026, 3, 4)})
    saturday = datetime(2026, 3, 7, 2, tzinfo=UTC)
    assert not profile.on_duty(saturday)


def test_on_call_covers_nights_and_round_trips_through_json() -> None:
    """A rota shift puts the expert on duty; the JSON form rebuilds the same profile."""
    night = datetime(2026, 3, 4, 22, tzinfo=UTC)
    profile = make_profile(
        DEFAULT_CATALOGUE,
        identity="n",
        name="N",
        skills=["exercise_therapy", "gait_robot"],
        languages=["en", "de"],
        timezone="Europe/Berlin",
        on_call=[OnCallShift(night, night + timedelta(hours=9))],
        email="n@example.org",
        locale="de",
    )
    assert profile.on_duty(night + timedelta(hours=3))
    assert not profile.on_duty(night + timedelta(hours=9, minutes=30))  # 08:30 in Berlin
    assert profile_from_json(DEFAULT_CATALOGUE, profile.to_json()) == profile


def test_presence_reports_changes_only() -> None:
    """Setting the same presence twice is not a change; unknown experts are offline."""
    board = PresenceBoard()
    now = datetime(2026, 3, 4, tzinfo=UTC)
    assert board.get("a") is Presence.OFFLINE
    change = board.set("a", Presence.ONLINE, now)
    assert change is not None
    assert (change.old, change.new) == (Presence.OFFLINE, Presence.ONLINE)
    assert board.set("a", Presence.ONLINE, now) is None
    assert board.online() == ["a"]
    assert board.since("a") == now
