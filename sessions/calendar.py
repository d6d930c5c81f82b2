"""Business calendar: which instants are working time, in one time zone, and arithmetic on it.

Everything here is pure. Instants go in and come out as timezone-aware UTC datetimes; the
calendar's own time zone only decides where the working hours fall. Working hours are kept
per local date and turned into UTC intervals, so DST changes, weekends and holidays are
handled by skipping whole intervals instead of by adjusting clocks.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sessions.exceptions import ValidationError

#: Weekday names accepted in configuration, Monday = 0 as in ``date.weekday()``.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: Mon-Fri 08:00-18:00, the default working week.
DEFAULT_HOURS: dict[int, list[tuple[time, time]]] = {day: [(time(8), time(18))] for day in range(5)}

_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_CONFIG_KEYS = frozenset({"timezone", "working_hours", "holidays"})
# A calendar with no working time would make every search loop forever; the longest run of
# non-working dates we accept before calling the configuration broken.
_MAX_IDLE_DAYS = 3660


@dataclass(frozen=True, slots=True)
class Interval:
    """One stretch of working time, ``[start, end)`` in UTC."""

    start: datetime
    """First working instant (UTC)."""
    end: datetime
    """First instant after it that is not part of it (UTC)."""


def _require_utc(value: datetime, name: str) -> datetime:
    """Return ``value`` in UTC, refusing naive datetimes (they have no defined instant)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"{name} must be timezone-aware", field=name)
    return value.astimezone(UTC)


def _minutes(value: time) -> int:
    """Minutes since midnight; an end of 00:00 is read as 24:00, the end of the day."""
    return value.hour * 60 + value.minute


class BusinessCalendar:
    """Working hours per weekday in one time zone, minus holidays.

    ``working_hours`` maps a weekday (0 = Monday) to ``(start, end)`` local times; an end of
    ``time(0)`` means midnight at the end of that day, so ``(time(0), time(0))`` is a whole day.
    Weekdays that are missing or map to an empty list are not working days.
    """

    def __init__(
        self,
        timezone: str = "UTC",
        working_hours: Mapping[int, list[tuple[time, time]]] | None = None,
        holidays: frozenset[date] = frozenset(),
    ) -> None:
        try:
            self.tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError(f"unknown time zone {timezone!r}", field="timezone") from exc
        self.timezone = timezone
        hours = DEFAULT_HOURS if working_hours is None else working_hours
        self._spans = {day: _check_spans(day, spans) for day, spans in hours.items()}
        if not any(self._spans.values()):
            raise ValidationError("the calendar has no working hours", field="working_hours")
        self.holidays = frozenset(holidays)
        # Deadline and state computations ask for the same few dates over and over; the
        # time-zone conversions dominate without this.
        self._intervals = functools.lru_cache(maxsize=4096)(self._compute_intervals)

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> BusinessCalendar:
        """Build from a plain dict (a TOML table): timezone, working_hours, holidays."""
        config = dict(config or {})
        unknown = set(config) - _CONFIG_KEYS
        if unknown:
            raise ValidationError(f"unknown calendar keys: {sorted(unknown)}", field="calendar")
        hours = config.get("working_hours")
        return cls(
            timezone=str(config.get("timezone", "UTC")),
            working_hours=None if hours is None else _parse_hours(hours),
            holidays=_parse_holidays(config.get("holidays", ())),
        )

    def working_hours(self) -> dict[int, list[tuple[time, time]]]:
        """The weekly hours, as given (weekday -> local spans)."""
        return {day: list(spans) for day, spans in self._spans.items()}

    def is_working_date(self, day: date) -> bool:
        """Tell whether the local date has any working hours."""
        return bool(self._spans.get(day.weekday())) and day not in self.holidays

    def intervals_on(self, day: date) -> list[Interval]:
        """The working intervals of one local date, in UTC, in order."""
        return list(self._intervals(day))

    def _compute_intervals(self, day: date) -> tuple[Interval, ...]:
        """intervals_on without the cache."""
        if not self.is_working_date(day):
            return ()
        result = []
        for start, end in self._spans[day.weekday()]:
            interval = Interval(self._instant(day, start, False), self._instant(day, end, True))
            # A span that a DST jump swallows whole has no working time that day.
            if interval.end > interval.start:
                result.append(interval)
        return tuple(result)

    def is_working(self, moment: datetime) -> bool:
        """Tell whether ``moment`` falls inside working hours."""
        moment = _require_utc(moment, "moment")
        day = moment.astimezone(self.tz).date()
        return any(iv.start <= moment < iv.end for iv in self.intervals_on(day))

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """Return the instant at which ``duration`` of working time after ``start`` has passed.

        When the time runs out exactly at the end of an interval, that end is returned (the
        deadline is "by close of business", not "first thing next morning").
        """
        start = _require_utc(start, "start")
        if duration < timedelta(0):
            raise ValidationError("duration must not be negative", field="duration")
        if duration == timedelta(0):
            return start
        remaining = duration
        for interval in self._intervals_from(start):
            begin = max(interval.start, start)
            available = interval.end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise AssertionError("unreachable: _intervals_from never ends")

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time from ``a`` to ``b``; negative when ``b`` is before ``a``."""
        a = _require_utc(a, "a")
        b = _require_utc(b, "b")
        if b < a:
            return -self.working_time_between(b, a)
        total = timedelta(0)
        for interval in self._intervals_from(a):
            if interval.start >= b:
                break
            total += min(interval.end, b) - max(interval.start, a)
        return total

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """Return the same local time ``days`` working dates later, clamped into working hours.

        A start on a non-working date counts from the opening of the next working date, so a
        ticket resolved on Saturday gets the whole of Monday and is due on Tuesday morning.
        A time before the day's opening is moved to the opening; a time after closing, or in
        a break, is moved back to the end of the preceding interval.
        """
        start = _require_utc(start, "start")
        if days < 0:
            raise ValidationError("days must not be negative", field="days")
        local = start.astimezone(self.tz)
        day, clock = local.date(), local.timetz().replace(tzinfo=None)
        if not self.is_working_date(day):
            day = self._next_working_date(day)
            clock = self._spans[day.weekday()][0][0]
        if days == 0:
            return start
        for _ in range(days):
            day = self._next_working_date(day)
        return self._clamp(day, self._instant(day, clock, False))

    def next_working_instant(self, moment: datetime) -> datetime:
        """Return ``moment`` if it is working time, else the start of the next interval."""
        moment = _require_utc(moment, "moment")
        for interval in self._intervals_from(moment):
            if interval.end > moment:
                return max(interval.start, moment)
        raise AssertionError("unreachable: _intervals_from never ends")

    def _intervals_from(self, start: datetime) -> Iterator[Interval]:
        """Yield the intervals that end after ``start``, in order, without end."""
        day = start.astimezone(self.tz).date() - timedelta(days=1)
        idle = 0
        while True:
            intervals = self._intervals(day)
            idle = 0 if intervals else idle + 1
            if idle > _MAX_IDLE_DAYS:
                raise ValidationError("no working time for ten years", field="holidays")
            for interval in intervals:
                if interval.end > start:
                    yield interval
            day += timedelta(days=1)

    def _next_working_date(self, day: date) -> date:
        """The first working date strictly after ``day``."""
        for offset in range(1, _MAX_IDLE_DAYS + 2):
            candidate = day + timedelta(days=offset)
            if self.intervals_on(candidate):
                return candidate
        raise ValidationError("no working time for ten years", field="holidays")

    def _clamp(self, day: date, moment: datetime) -> datetime:
        """Move ``moment`` into the working intervals of ``day`` (see add_working_days)."""
        intervals = self.intervals_on(day)
        if moment < intervals[0].start:
            return intervals[0].start
        previous = intervals[0]
        for interval in intervals:
            if interval.start > moment:
                break
            previous = interval
        return moment if moment < previous.end else previous.end

    def _instant(self, day: date, clock: time, is_end: bool) -> datetime:
        """The UTC instant of local wall time ``clock`` on ``day`` (00:00 as an end = 24:00)."""
        if is_end and _minutes(clock) == 0 and clock.second == 0 and clock.microsecond == 0:
            day += timedelta(days=1)
        # fold=0 picks the earlier of two repeated wall times and maps a skipped one forward
        # by the size of the jump, which keeps intervals ordered on both DST days.
        return datetime.combine(day, clock, tzinfo=self.tz).astimezone(UTC)


def _check_spans(day: int, spans: list[tuple[time, time]]) -> list[tuple[time, time]]:
    """Validate one weekday's spans: known weekday, each start before its end, no overlap."""
    if day not in range(7):
        raise ValidationError(f"weekday must be 0-6, got {day}", field="working_hours")
    ordered = sorted(spans)
    last_end = -1
    for start, end in ordered:
        end_minutes = _minutes(end) or 24 * 60
        if _minutes(start) >= end_minutes or _minutes(start) < last_end:
            raise ValidationError(
                f"bad or overlapping working hours on {WEEKDAYS[day]}: {start}-{end}",
                field="working_hours",
            )
        last_end = end_minutes
    return ordered


def _parse_hours(config: Any) -> dict[int, list[tuple[time, time]]]:
    """Parse ``{"mon": ["08:00-12:00", "13:00-17:00"], ...}``; days not listed are closed."""
    if not isinstance(config, Mapping):
        raise ValidationError("working_hours must be a table of weekdays", field="working_hours")
    hours: dict[int, list[tuple[time, time]]] = {}
    for name, spans in config.items():
        key = str(name).lower()[:3]
        if key not in WEEKDAYS:
            raise ValidationError(f"unknown weekday {name!r}", field="working_hours")
        items = [spans] if isinstance(spans, str) else list(spans)
        hours[WEEKDAYS.index(key)] = [_parse_span(str(item)) for item in items]
    return hours


def _parse_span(text: str) -> tuple[time, time]:
    """Parse ``"08:00-18:00"``; ``24:00`` is accepted as the end of the day."""
    match = _SPAN.match(text)
    if match is None:
        raise ValidationError(f"working hours must look like 08:00-18:00, got {text!r}")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h2 == 24 and m2 == 0:
        h2 = 0
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValidationError(f"not a time of day in {text!r}", field="working_hours")
    return time(h1, m1), time(h2, m2)


def _parse_holidays(value: Any) -> frozenset[date]:
    """A list of dates; a lone string is refused rather than read character by character."""
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple | set | frozenset):
        raise ValidationError("holidays must be a list of dates", field="holidays")
    return frozenset(_parse_date(item) for item in value)


def _parse_date(value: Any) -> date:
    """Accept a ``date`` (TOML dates arrive as such) or an ISO ``YYYY-MM-DD`` string."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationError(f"holiday must be YYYY-MM-DD, got {value!r}") from exc
