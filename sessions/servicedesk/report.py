"""The weekly SLA report: volumes, attainment, median times, breaches and survey scores.

Pure: it takes the week's tickets and survey answers and returns a JSON-ready dict; the CSV
form flattens the same dict, so both always say the same thing.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sessions.sla import ClockState, ClockStatus, SlaPolicy, sla_state
from sessions.tickets import Ticket, TicketKind, TicketStatus, Tier

WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class SurveyAnswer:
    """One answered survey, as the report needs it."""

    ticket_id: str
    """The ticket it rates."""
    score: int
    """1..5."""
    answered_at: datetime
    """When it was answered."""


def _pct(met: int, breached: int) -> float | None:
    decided = met + breached
    return None if decided == 0 else round(100.0 * met / decided, 1)


def _median(values: Sequence[float]) -> float | None:
    return None if not values else round(statistics.median(values), 1)


def _clock_figures(clocks: Iterable[ClockStatus]) -> dict[str, Any]:
    states = Counter(clock.state for clock in clocks)
    met, breached = states[ClockState.MET], states[ClockState.BREACHED]
    return {"met": met, "breached": breached, "attainment_pct": _pct(met, breached)}


def _volumes(tickets: Sequence[Ticket]) -> dict[str, Any]:
    by_kind = Counter(t.kind.value for t in tickets)
    by_tier = Counter(t.tier.value for t in tickets)
    pairs = Counter(f"{t.kind.value}/{t.tier.value}" for t in tickets)
    return {
        "total": len(tickets),
        "cancelled": sum(1 for t in tickets if t.status is TicketStatus.CANCELLED),
        "by_kind": {k.value: by_kind[k.value] for k in TicketKind},
        "by_tier": {t.value: by_tier[t.value] for t in Tier},
        "by_kind_and_tier": dict(sorted(pairs.items())),
    }


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def _attainment(tickets: Sequence[Ticket], now: datetime, policy: SlaPolicy) -> dict[str, Any]:
    states = [sla_state(t, now, policy) for t in tickets]
    response = _clock_figures(s.response for s in states)
    response["median_minutes"] = _median(
        [_minutes(t.first_response_at - t.created_at) for t in tickets if t.first_response_at]
    )
    resolution = _clock_figures(s.resolution for s in states)
    resolution["median_hours"] = _median(
        [_minutes(t.resolved_at - t.created_at) / 60 for t in tickets if t.resolved_at]
    )
    callback = _clock_figures(s.callback for s in states)
    return {"response": response, "resolution": resolution, "callback": callback}


def _surveys(answers: Sequence[SurveyAnswer]) -> dict[str, Any]:
    scores = Counter(a.score for a in answers)
    mean = None if not answers else round(statistics.fmean(a.score for a in answers), 2)
    return {
        "answered": len(answers),
        "mean_score": mean,
        "distribution": {str(s): scores[s] for s in range(1, 6)},
    }


def weekly_report(
    tickets: Iterable[Ticket],
    answers: Iterable[SurveyAnswer],
    week_start: datetime,
    now: datetime,
    policy: SlaPolicy,
) -> dict[str, Any]:
    """The report for tickets opened and surveys answered in ``[week_start, +7 days)``.

    Attainment counts decided clocks only (met or breached at ``now``); clocks still running
    are left out, and cancelled tickets do not count towards attainment or median times.
    """
    week_end = week_start + WEEK
    week = [t for t in tickets if week_start <= t.created_at < week_end]
    worked = [t for t in week if t.status is not TicketStatus.CANCELLED]
    answered = [a for a in answers if week_start <= a.answered_at < week_end]
    sla = _attainment(worked, now, policy)
    by_tier = {
        tier.value: _attainment([t for t in worked if t.tier is tier], now, policy) for tier in Tier
    }
    return {
        "week_start": week_start.isoformat(),
        "week_end": week_end.isoformat(),
        "generated_at": now.isoformat(),
        "tickets": _volumes(week),
        **sla,
        "by_tier": by_tier,
        "breaches": {
            "total": sum(sla[c]["breached"] for c in ("response", "resolution", "callback")),
            **{c: sla[c]["breached"] for c in ("response", "resolution", "callback")},
        },
        "surveys": _surveys(answered),
    }


def _flatten(prefix: str, value: Any, rows: list[tuple[str, str]]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, rows)
    else:
        rows.append((prefix, "" if value is None else str(value)))


def report_csv(report: Mapping[str, Any]) -> str:
    """The report as CSV with two columns, ``metric`` (dotted path) and ``value``."""
    rows: list[tuple[str, str]] = []
    _flatten("", report, rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("metric", "value"))
    writer.writerows(rows)
    return out.getvalue()
