"""Callbacks by tier, one-time survey links, complaints due in 5 working days."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sessions.calendar import BusinessCalendar
from sessions.exceptions import ValidationError
from sessions.servicedesk.aftercare import (
    SurveyLink,
    callback_task_for,
    check_answer,
    follow_up_after,
    hash_token,
    new_survey_token,
    open_complaint,
)
from sessions.servicedesk.exceptions import SurveyExpiredError, SurveyUsedError
from sessions.sla import SlaPolicy
from sessions.tickets import TicketStatus, Tier
from tests.unit.test_servicedesk_support import T0, ticket

pytestmark = pytest.mark.servicedesk

CALENDAR = BusinessCalendar()  # Mon-Fri 08:00-18:00 UTC
POLICY = SlaPolicy.from_config({}, CALENDAR)


def test_callback_due_by_tier() -> None:
    """Urgent: 2 h after resolution; routine: 1 working day; consult: no callback."""
    resolved = T0 + timedelta(hours=3)
    urgent = replace(ticket("u", tier=Tier.URGENT), resolved_at=resolved, assignee="exp-1")
    task = callback_task_for(urgent, POLICY, resolved)
    assert task is not None
    assert (task.due_at, task.assignee) == (resolved + timedelta(hours=2), "exp-1")
    assert task.id.startswith("cbk_")
    routine = replace(ticket("r", tier=Tier.ROUTINE), resolved_at=resolved)
    routine_task = callback_task_for(routine, POLICY, resolved)
    assert routine_task is not None
    assert routine_task.due_at == resolved + timedelta(days=1)  # Wednesday -> Thursday
    consult = replace(ticket("c", tier=Tier.CONSULT), resolved_at=resolved)
    assert callback_task_for(consult, POLICY, resolved) is None
    with pytest.raises(ValidationError, match="not resolved"):
        callback_task_for(ticket("x"), POLICY, resolved)


def test_follow_up_until_the_patient_trains_alone() -> None:
    """A callback that finds the patient not yet independent schedules another."""
    resolved = T0
    t = replace(ticket("u", tier=Tier.URGENT), resolved_at=resolved, status=TicketStatus.RESOLVED)
    task = callback_task_for(t, POLICY, resolved)
    assert task is not None
    task.done_at, task.independent = resolved + timedelta(hours=1), False
    again = follow_up_after(task, POLICY, t)
    assert again is not None
    assert again.due_at == resolved + timedelta(hours=3)
    task.independent = True
    assert follow_up_after(task, POLICY, t) is None


def test_survey_link_is_one_time_and_expires() -> None:
    """Second use and late use are refused with their own codes."""
    token, digest = new_survey_token()
    assert hash_token(token) == digest
    assert token not in digest
    link = SurveyLink(digest, "tkt_1", T0, T0 + timedelta(days=14))
    link.check_answerable(T0 + timedelta(days=1))
    link.used_at = T0 + timedelta(days=1)
    with pytest.raises(SurveyUsedError, match="already used") as used:
        link.check_answerable(T0 + timedelta(days=2))
    assert used.value.code == "survey_used"
    fresh = SurveyLink(digest, "tkt_1", T0, T0 + timedelta(days=14))
    with pytest.raises(SurveyExpiredError):
        fresh.check_answerable(T0 + timedelta(days=14))


@pytest.mark.parametrize("score", [0, 6, -1, True])
def test_score_must_be_1_to_5(score: int) -> None:
    """Out-of-range (and boolean) scores are refused."""
    with pytest.raises(ValidationError, match="1 to 5"):
        check_answer(score, "")


def test_answer_is_trimmed_and_bounded() -> None:
    """Comments are stripped; overly long ones refused."""
    assert check_answer(4, "  good  ") == (4, "good")
    with pytest.raises(ValidationError, match="comment"):
        check_answer(4, "x" * 2001)


def test_complaint_due_in_five_working_days() -> None:
    """Opened Friday 16:00 -> due the next Friday 16:00 (weekend skipped)."""
    friday = datetime(2026, 3, 6, 16, tzinfo=UTC)
    complaint = open_complaint("tkt_1", " rude ", "clinic-1", friday, CALENDAR)
    assert complaint.reason == "rude"
    assert complaint.due_at == datetime(2026, 3, 13, 16, tzinfo=UTC)
    assert not complaint.overdue(complaint.due_at)
    assert complaint.overdue(complaint.due_at + timedelta(seconds=1))
    with pytest.raises(ValidationError):
        open_complaint("tkt_1", "  ", "clinic-1", friday, CALENDAR)
