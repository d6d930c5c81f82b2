"""Weekly SLA report against a hand-computed dataset."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sessions.calendar import BusinessCalendar
from sessions.servicedesk.report import SurveyAnswer, report_csv, weekly_report
from sessions.sla import SlaPolicy
from sessions.tickets import Ticket, TicketKind, TicketStatus, Tier
from tests.unit.test_servicedesk_support import ticket as base_ticket

pytestmark = pytest.mark.servicedesk

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
NOW = datetime(2026, 3, 10, tzinfo=UTC)
# Wall-clock windows so every figure below can be worked out by hand.
POLICY = SlaPolicy.from_config(
    {
        "tiers": {
            "urgent": {"response": "1h", "resolution": "24h", "callback": "2h"},
            "routine": {"response": "2h", "resolution": "48h", "callback": "24h"},
            "consult": {"response": "4h", "resolution": "72h", "callback": "none"},
        }
    },
    BusinessCalendar(),
)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def seeded(
    tid: str,
    kind: TicketKind,
    tier: Tier,
    created: datetime,
    status: TicketStatus,
    response: timedelta | None = None,
    resolved: timedelta | None = None,
    callback: timedelta | None = None,
    closed: timedelta | None = None,
) -> Ticket:
    """A ticket with policy deadlines and offsets (from creation) of what happened."""
    t = replace(base_ticket(tid, kind=kind, tier=tier, created_at=created), status=status)
    t.deadlines = POLICY.deadlines_for(tier, created)
    t.first_response_at = created + response if response else None
    t.resolved_at = created + resolved if resolved else None
    if t.resolved_at:
        t.deadlines.callback_due_at = POLICY.callback_due(tier, t.resolved_at)
    t.callback_done_at = created + callback if callback else None
    t.closed_at = created + closed if closed else None
    return t


DF, EX, ON, CO = (
    TicketKind.DEVICE_FAULT,
    TicketKind.GUIDED_EXERCISE,
    TicketKind.ONBOARDING,
    TicketKind.CONSULTATION,
)
S = TicketStatus
DATASET = [
    seeded("A", DF, Tier.URGENT, MONDAY + 10 * H, S.CLOSED, 30 * M, 10 * H, 11 * H, 12 * H),
    seeded("B", DF, Tier.URGENT, MONDAY + 12 * H, S.RESOLVED, 90 * M, 30 * H),
    seeded("C", EX, Tier.ROUTINE, MONDAY + 33 * H, S.CALLBACK_DONE, 60 * M, 20 * H, 25 * H),
    seeded("D", ON, Tier.ROUTINE, MONDAY + 57 * H, S.CLOSED, 3 * H, 50 * H, 52 * H, 53 * H),
    seeded("E", CO, Tier.CONSULT, MONDAY + 81 * H, S.ASSIGNED, 2 * H),
    seeded("F", DF, Tier.ROUTINE, MONDAY + 105 * H, S.CANCELLED, closed=30 * M),
    seeded("G", DF, Tier.URGENT, MONDAY - 1 * H, S.OPEN),
    seeded("H", DF, Tier.ROUTINE, MONDAY + 164 * H, S.OPEN),
]
ANSWERS = [
    SurveyAnswer("A", 5, MONDAY + 30 * H),
    SurveyAnswer("C", 4, MONDAY + 60 * H),
    SurveyAnswer("D", 2, MONDAY + 120 * H),
    SurveyAnswer("B", 3, MONDAY + 7 * 24 * H),  # answered the next Monday: next week's report
]


def test_volumes_by_kind_and_tier() -> None:
    """Seven tickets opened in the week (G opened the Sunday before)."""
    report = weekly_report(DATASET, ANSWERS, MONDAY, NOW, POLICY)
    assert report["tickets"]["total"] == 7
    assert report["tickets"]["cancelled"] == 1
    assert report["tickets"]["by_kind"] == {
        "device_fault": 4,
        "guided_exercise": 1,
        "onboarding": 1,
        "consultation": 1,
    }
    assert report["tickets"]["by_tier"] == {"urgent": 2, "routine": 4, "consult": 1}
    assert report["tickets"]["by_kind_and_tier"]["device_fault/routine"] == 2


def test_attainment_medians_and_breaches() -> None:
    """Known answers: response 3/6 met, resolution 2/5, callback 3/4; medians 90 min, 25 h."""
    report = weekly_report(DATASET, ANSWERS, MONDAY, NOW, POLICY)
    assert report["response"] == {
        "met": 3,
        "breached": 3,
        "attainment_pct": 50.0,
        "median_minutes": 90.0,
    }
    assert report["resolution"] == {
        "met": 2,
        "breached": 3,
        "attainment_pct": 40.0,
        "median_hours": 25.0,
    }
    assert report["callback"] == {"met": 3, "breached": 1, "attainment_pct": 75.0}
    assert report["breaches"] == {"total": 7, "response": 3, "resolution": 3, "callback": 1}
    urgent = report["by_tier"]["urgent"]
    assert urgent["response"]["attainment_pct"] == 50.0
    assert urgent["response"]["median_minutes"] == 60.0
    assert report["by_tier"]["consult"]["resolution"]["breached"] == 1


def test_survey_scores() -> None:
    """Three answers in the week: 5, 4 and 2."""
    report = weekly_report(DATASET, ANSWERS, MONDAY, NOW, POLICY)
    assert report["surveys"] == {
        "answered": 3,
        "mean_score": 3.67,
        "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1},
    }


def test_empty_week_has_no_attainment_rather_than_zero() -> None:
    """No decided clocks means no figure, not 0% or 100%."""
    report = weekly_report([], [], MONDAY, NOW, POLICY)
    assert report["response"]["attainment_pct"] is None
    assert report["surveys"]["mean_score"] is None


def test_csv_carries_the_same_figures() -> None:
    """Every figure of the dict is a row of the CSV."""
    report = weekly_report(DATASET, ANSWERS, MONDAY, NOW, POLICY)
    rows = dict(csv.reader(io.StringIO(report_csv(report))))
    assert rows["metric"] == "value"
    assert rows["response.attainment_pct"] == "50.0"
    assert rows["tickets.by_kind.device_fault"] == "4"
    assert rows["surveys.distribution.5"] == "1"
    assert rows["by_tier.consult.callback.attainment_pct"] == ""
