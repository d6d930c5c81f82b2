"""Business calendar: worked examples and properties across weekends, holidays and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessions.calendar import BusinessCalendar
from sessions.exceptions import ValidationError

ZONES = ("Asia/Shanghai", "Europe/Berlin", "America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def local(zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware datetime given as local wall time in ``zone``."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone))


def utc(moment: datetime) -> datetime:
    """The same instant in UTC."""
    return moment.astimezone(UTC)


# ---- worked examples -------------------------------------------------------------------


def test_add_working_time_within_the_same_day() -> None:
    cal = BusinessCalendar("Europe/Berlin")
    start = local("Europe/Berlin", 2025, 6, 2, 9, 30)  # Monday
    assert cal.add_working_time(start, timedelta(hours=2)) == utc(
        local("Europe/Berlin", 2025, 6, 2, 11, 30)
    )


def test_friday_evening_rolls_over_the_weekend_and_spring_dst() -> None:
    cal = BusinessCalendar("Europe/Berlin")
    # Friday 17:00 CET; clocks go forward on Sunday 30 March 2025.
    start = local("Europe/Berlin", 2025, 3, 28, 17, 0)
    due = cal.add_working_time(start, timedelta(hours=2))
    assert due == utc(local("Europe/Berlin", 2025, 3, 31, 9, 0))
    assert due.utcoffset() == timedelta(0)
    assert due.astimezone(BERLIN).utcoffset() == timedelta(hours=2)


def test_autumn_dst_in_new_york() -> None:
    cal = BusinessCalendar("America/New_York")
    # Friday 31 Oct 2025 16:00 EDT; clocks go back on Sunday 2 Nov.
    start = local("America/New_York", 2025, 10, 31, 16, 0)
    assert cal.add_working_time(start, timedelta(hours=4)) == utc(
        local("America/New_York", 2025, 11, 3, 10, 0)
    )


def test_holidays_are_skipped_in_shanghai() -> None:
    holidays = frozenset(date(2025, 10, d) for d in range(1, 9))  # National Day week
    cal = BusinessCalendar("Asia/Shanghai", holidays=holidays)
    start = local("Asia/Shanghai", 2025, 9, 30, 17, 0)  # Tuesday
    assert cal.add_working_time(start, timedelta(hours=3)) == utc(
        local("Asia/Shanghai", 2025, 10, 9, 10, 0)
    )


def test_start_before_opening_counts_from_opening() -> None:
    cal = BusinessCalendar("UTC")
    start = datetime(2025, 6, 2, 5, 0, tzinfo=UTC)
    assert cal.add_working_time(start, timedelta(hours=1)) == datetime(2025, 6, 2, 9, tzinfo=UTC)


def test_time_that_runs_out_at_closing_is_due_at_closing() -> None:
    cal = BusinessCalendar("UTC")
    start = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
    assert cal.add_working_time(start, timedelta(hours=10)) == datetime(2025, 6, 2, 18, tzinfo=UTC)


def test_lunch_break_does_not_count() -> None:
    cal = BusinessCalendar.from_config(
        {"timezone": "UTC", "working_hours": {"mon": ["08:00-12:00", "13:00-17:00"]}}
    )
    start = datetime(2025, 6, 2, 11, 0, tzinfo=UTC)
    assert cal.add_working_time(start, timedelta(hours=2)) == datetime(2025, 6, 2, 14, tzinfo=UTC)
    assert not cal.is_working(datetime(2025, 6, 2, 12, 30, tzinfo=UTC))
    # Only Mondays are listed, so the next Monday follows.
    assert cal.add_working_time(start, timedelta(hours=6)) == datetime(2025, 6, 9, 9, tzinfo=UTC)


def test_working_days_keep_the_local_time() -> None:
    cal = BusinessCalendar("Europe/Berlin")
    start = local("Europe/Berlin", 2025, 3, 28, 10, 15)  # Friday, CET
    assert cal.add_working_days(start, 1) == utc(local("Europe/Berlin", 2025, 3, 31, 10, 15))
    assert cal.add_working_days(start, 3) == utc(local("Europe/Berlin", 2025, 4, 2, 10, 15))


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (datetime(2025, 6, 2, 6, 0), datetime(2025, 6, 3, 8, 0)),  # before opening
        (datetime(2025, 6, 2, 20, 0), datetime(2025, 6, 3, 18, 0)),  # after closing
        (datetime(2025, 6, 7, 10, 0), datetime(2025, 6, 10, 8, 0)),  # Saturday
        (datetime(2025, 6, 6, 17, 59), datetime(2025, 6, 9, 17, 59)),  # Friday
    ],
)
def test_working_days_clamp_into_working_hours(start: datetime, expected: datetime) -> None:
    cal = BusinessCalendar("UTC")
    assert cal.add_working_days(start.replace(tzinfo=UTC), 1) == expected.replace(tzinfo=UTC)


def test_working_time_between_across_a_weekend() -> None:
    cal = BusinessCalendar("America/New_York")
    a = local("America/New_York", 2025, 6, 6, 17, 0)  # Friday
    b = local("America/New_York", 2025, 6, 9, 9, 0)  # Monday
    assert cal.working_time_between(a, b) == timedelta(hours=2)
    assert cal.working_time_between(b, a) == -timedelta(hours=2)


def test_round_the_clock_calendar_is_wall_time() -> None:
    cal = BusinessCalendar("Europe/Berlin", {d: [(time(0), time(0))] for d in range(7)})
    start = local("Europe/Berlin", 2025, 3, 29, 12, 0)
    assert cal.add_working_time(start, timedelta(hours=24)) == utc(start) + timedelta(hours=24)


def test_from_config_reads_toml_shapes() -> None:
    cal = BusinessCalendar.from_config(
        {
            "timezone": "Asia/Shanghai",
            "working_hours": {"monday": "09:00-17:30", "sat": ["10:00-24:00"]},
            "holidays": ["2025-10-01", date(2025, 10, 2)],
        }
    )
    assert cal.working_hours() == {0: [(time(9), time(17, 30))], 5: [(time(10), time(0))]}
    assert cal.holidays == frozenset({date(2025, 10, 1), date(2025, 10, 2)})
    assert BusinessCalendar.from_config(None).working_hours()[4] == [(time(8), time(18))]


@pytest.mark.parametrize(
    "config",
    [
        {"timezone": "Mars/Olympus"},
        {"working_hours": {"mon": ["18:00-08:00"]}},
        {"working_hours": {"mon": ["08:00-12:00", "11:00-13:00"]}},
        {"working_hours": {"funday": ["08:00-12:00"]}},
        {"working_hours": {"mon": ["8am-noon"]}},
        {"working_hours": {}},
        {"holidays": ["25/12/2025"]},
        {"holidays": "2025-12-25"},
        {"working_hours": ["mon"]},
        {"timezone": "UTC", "hours": {}},
    ],
)
def test_bad_config_is_refused(config: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        BusinessCalendar.from_config(config)


def test_naive_and_negative_inputs_are_refused() -> None:
    cal = BusinessCalendar()
    with pytest.raises(ValidationError):
        cal.add_working_time(datetime(2025, 1, 1), timedelta(hours=1))
    with pytest.raises(ValidationError):
        cal.add_working_time(datetime(2025, 1, 1, tzinfo=UTC), timedelta(hours=-1))
    with pytest.raises(ValidationError):
        cal.add_working_days(datetime(2025, 1, 1, tzinfo=UTC), -1)


# ---- properties ----------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=120))


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    """A calendar in one of the zones, with random hours and holidays."""
    zone = draw(st.sampled_from(ZONES))
    hours: dict[int, list[tuple[time, time]]] = {}
    for day in draw(st.sets(st.integers(0, 6), min_size=1)):
        bounds = sorted(draw(st.sets(st.integers(0, 48), min_size=2, max_size=4)))
        spans = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds) - 1, 2)]
        hours[day] = [(_half_hour(a), _half_hour(b)) for a, b in spans]
    base = date(2024, 1, 1)
    holidays = draw(st.frozensets(st.integers(0, 4 * 366).map(lambda n: base + timedelta(n))))
    return BusinessCalendar(zone, hours, holidays)


def _half_hour(n: int) -> time:
    """The n-th half hour of a day; 48 is midnight at the end."""
    return time((n // 2) % 24, 30 * (n % 2))


@settings(max_examples=150, deadline=None)
@given(cal=calendars(), start=instants, duration=durations)
def test_added_working_time_is_exactly_the_duration(
    cal: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    due = cal.add_working_time(start, duration)
    assert due >= start
    assert due.tzinfo is UTC
    assert cal.working_time_between(start, due) == duration
    if duration > timedelta(0):
        # The deadline is the end of working time, not some idle instant after it.
        assert cal.is_working(due - timedelta(microseconds=1))


@settings(max_examples=150, deadline=None)
@given(cal=calendars(), start=instants, first=durations, second=durations)
def test_adding_in_two_steps_is_adding_once(
    cal: BusinessCalendar, start: datetime, first: timedelta, second: timedelta
) -> None:
    once = cal.add_working_time(start, first + second)
    assert cal.add_working_time(cal.add_working_time(start, first), second) == once
    assert cal.add_working_time(start, first) <= once


@settings(max_examples=150, deadline=None)
@given(cal=calendars(), a=instants, b=instants, c=instants)
def test_working_time_between_adds_up(
    cal: BusinessCalendar, a: datetime, b: datetime, c: datetime
) -> None:
    ab, bc = cal.working_time_between(a, b), cal.working_time_between(b, c)
    assert ab + bc == cal.working_time_between(a, c)
    assert abs(ab) <= abs(b - a)


@settings(max_examples=100, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    start=instants,
    duration=durations,
    holidays=st.frozensets(st.dates(date(2024, 1, 1), date(2028, 6, 30)), max_size=40),
)
def test_default_week_never_counts_weekends_or_holidays(
    zone: str, start: datetime, duration: timedelta, holidays: frozenset[date]
) -> None:
    cal = BusinessCalendar(zone, holidays=holidays)
    due = cal.add_working_time(start, duration)
    step = timedelta(minutes=30)
    moment = start
    while moment < due:
        if cal.is_working(moment):
            day = moment.astimezone(cal.tz)
            assert day.weekday() < 5
            assert day.date() not in holidays
            assert time(8) <= day.time() < time(18)
        moment += step


@settings(max_examples=150, deadline=None)
@given(cal=calendars(), start=instants, days=st.integers(1, 10))
def test_working_days_land_in_working_hours_of_a_later_working_date(
    cal: BusinessCalendar, start: datetime, days: int
) -> None:
    due = cal.add_working_days(start, days)
    assert due > start
    # An end of 24:00 is on the next local date, so the due date is one of two.
    local_day = due.astimezone(cal.tz).date()
    due_day = next(
        day
        for day in (local_day, local_day - timedelta(days=1))
        if (ivs := cal.intervals_on(day)) and ivs[0].start <= due <= ivs[-1].end
    )
    base = start.astimezone(cal.tz).date()
    if not cal.intervals_on(base):
        base = next(
            base + timedelta(n) for n in range(1, 4000) if cal.intervals_on(base + timedelta(n))
        )
    working_dates = [
        base + timedelta(n)
        for n in range(1, (due_day - base).days + 1)
        if cal.intervals_on(base + timedelta(n))
    ]
    assert len(working_dates) == days
    assert due_day == working_dates[-1]


def test_next_working_instant_and_working_dates() -> None:
    cal = BusinessCalendar("UTC", holidays=frozenset({date(2025, 6, 9)}))
    friday_evening = datetime(2025, 6, 6, 19, 0, tzinfo=UTC)
    # Monday 9 June is a holiday, so Tuesday opens next.
    assert cal.next_working_instant(friday_evening) == datetime(2025, 6, 10, 8, tzinfo=UTC)
    inside = datetime(2025, 6, 6, 9, 15, tzinfo=UTC)
    assert cal.next_working_instant(inside) == inside
    assert cal.is_working_date(date(2025, 6, 6))
    assert not cal.is_working_date(date(2025, 6, 7))
    assert not cal.is_working_date(date(2025, 6, 9))


def test_a_span_skipped_by_dst_has_no_working_time() -> None:
    cal = BusinessCalendar("Europe/Berlin", {6: [(time(2), time(3))], 0: [(time(8), time(9))]})
    # Sunday 30 March 2025: 02:00-03:00 does not exist in Berlin.
    assert cal.intervals_on(date(2025, 3, 30)) == []
    assert len(cal.intervals_on(date(2025, 4, 6))) == 1
