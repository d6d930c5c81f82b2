"""Expert profiles: skills, languages, time zone, working hours, on-call rota and capacity."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sessions.exceptions import ValidationError
from sessions.servicedesk.catalogue import Catalogue

#: Monday..Friday 09:00-17:00, the default when a profile gives no hours.
_OFFICE = ((time(9), time(17)),)


@dataclass(frozen=True, slots=True)
class OnCallShift:
    """One entry of the on-call rota (nights, weekends, holidays), in UTC."""

    start: datetime
    """First instant covered."""
    end: datetime
    """First instant no longer covered."""

    def covers(self, now: datetime) -> bool:
        """Tell whether ``now`` falls in the shift."""
        return self.start <= now < self.end


@dataclass(frozen=True, slots=True)
class ExpertProfile:
    """Who an expert is to the router. Build it with :func:`make_profile` to validate it."""

    identity: str
    """The identity the expert signs in with (JWT ``sub``)."""
    name: str
    """Display name."""
    skills: frozenset[str]
    """Device models, device categories and ``exercise_therapy``."""
    languages: frozenset[str]
    """BCP 47 tags the expert serves in."""
    timezone: str
    """IANA zone the working hours are given in."""
    working_hours: Mapping[int, tuple[tuple[time, time], ...]]
    """Weekday (0 = Monday) -> local intervals ``[start, end)``."""
    capacity: int = 2
    """How many tickets the expert can hold at once."""
    on_call: tuple[OnCallShift, ...] = ()
    """Rota entries outside working hours."""
    email: str | None = None
    """Where notifications for the expert go."""
    locale: str = "en"
    """Language of the expert's own notifications."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Free-form data kept with the profile."""

    def in_working_hours(self, now: datetime, holidays: Collection[date] = ()) -> bool:
        """Tell whether ``now`` is inside the expert's local working hours (not a holiday)."""
        local = now.astimezone(ZoneInfo(self.timezone))
        if local.date() in holidays:
            return False
        current = local.time().replace(tzinfo=None)
        intervals = self.working_hours.get(local.weekday(), ())
        return any(start <= current < end for start, end in intervals)

    def on_call_at(self, now: datetime) -> bool:
        """Tell whether a rota shift covers ``now``."""
        return any(shift.covers(now) for shift in self.on_call)

    def on_duty(self, now: datetime, holidays: Collection[date] = ()) -> bool:
        """Working hours or on call: the expert may receive offers now."""
        return self.in_working_hours(now, holidays) or self.on_call_at(now)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the store and the HTTP API use it)."""
        return {
            "identity": self.identity,
            "name": self.name,
            "skills": sorted(self.skills),
            "languages": sorted(self.languages),
            "timezone": self.timezone,
            "working_hours": {
                str(day): [[s.isoformat("minutes"), e.isoformat("minutes")] for s, e in spans]
                for day, spans in sorted(self.working_hours.items())
            },
            "capacity": self.capacity,
            "on_call": [[s.start.isoformat(), s.end.isoformat()] for s in self.on_call],
            "email": self.email,
            "locale": self.locale,
            "extra": self.extra,
        }


def office_hours(days: Iterable[int] = range(5)) -> dict[int, tuple[tuple[time, time], ...]]:
    """Working hours of 09:00-17:00 on the given weekdays (default Monday to Friday)."""
    return dict.fromkeys(days, _OFFICE)


def _check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"unknown time zone: {name}", timezone=name) from exc
    return name


def _check_hours(
    hours: Mapping[int, Sequence[tuple[time, time]]],
) -> dict[int, tuple[tuple[time, time], ...]]:
    checked: dict[int, tuple[tuple[time, time], ...]] = {}
    for day, spans in hours.items():
        if not 0 <= int(day) <= 6:
            raise ValidationError(f"weekday must be 0..6, got {day}", weekday=day)
        for start, end in spans:
            # Night shifts belong in the on-call rota, so an interval never wraps midnight.
            if not start < end:
                raise ValidationError(f"working interval {start}-{end} is empty or wraps")
        checked[int(day)] = tuple((start, end) for start, end in spans)
    return checked


def _check_rota(shifts: Iterable[OnCallShift]) -> tuple[OnCallShift, ...]:
    checked = tuple(shifts)
    for shift in checked:
        if shift.start.tzinfo is None or shift.end.tzinfo is None:
            raise ValidationError("on-call shifts need timezone-aware instants")
        if not shift.start < shift.end:
            raise ValidationError(f"on-call shift ends before it starts: {shift}")
    return checked


def make_profile(
    catalogue: Catalogue,
    *,
    identity: str,
    name: str,
    skills: Iterable[str],
    languages: Iterable[str],
    timezone: str = "UTC",
    working_hours: Mapping[int, Sequence[tuple[time, time]]] | None = None,
    capacity: int = 2,
    on_call: Iterable[OnCallShift] = (),
    email: str | None = None,
    locale: str = "en",
) -> ExpertProfile:
    """Build a profile, refusing unknown skills, languages, zones and malformed hours."""
    if not identity:
        raise ValidationError("expert identity must not be empty")
    if not 1 <= capacity <= 50:
        raise ValidationError(f"capacity must be 1..50, got {capacity}", capacity=capacity)
    langs = catalogue.check_languages(languages)
    catalogue.check_languages([locale])
    if not langs:
        raise ValidationError("an expert needs at least one language")
    return ExpertProfile(
        identity=identity,
        name=name,
        skills=catalogue.check_skills(skills),
        languages=langs,
        timezone=_check_zone(timezone),
        working_hours=_check_hours(office_hours() if working_hours is None else working_hours),
        capacity=capacity,
        on_call=_check_rota(on_call),
        email=email,
        locale=locale,
    )


def profile_from_json(catalogue: Catalogue, data: Mapping[str, Any]) -> ExpertProfile:
    """Rebuild (and re-validate) a profile from :meth:`ExpertProfile.to_json` output."""
    hours = {
        int(day): [(time.fromisoformat(s), time.fromisoformat(e)) for s, e in spans]
        for day, spans in data.get("working_hours", {}).items()
    }
    rota = [
        OnCallShift(datetime.fromisoformat(s), datetime.fromisoformat(e))
        for s, e in data.get("on_call", [])
    ]
    return make_profile(
        catalogue,
        identity=data["identity"],
        name=data.get("name", data["identity"]),
        skills=data.get("skills", []),
        languages=data.get("languages", []),
        timezone=data.get("timezone", "UTC"),
        working_hours=hours,
        capacity=int(data.get("capacity", 2)),
        on_call=rota,
        email=data.get("email"),
        locale=data.get("locale", "en"),
    )
