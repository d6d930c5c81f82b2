"""After resolution: the follow-up callback, the one-time satisfaction survey, complaints."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sessions.calendar import BusinessCalendar
from sessions.exceptions import ValidationError
from sessions.ids import new_id
from sessions.servicedesk.exceptions import SurveyExpiredError, SurveyUsedError
from sessions.sla import SlaPolicy
from sessions.tickets import Ticket

#: A complaint must be closed within this many working days of being opened.
COMPLAINT_WORKING_DAYS = 5
#: How long a survey link stays valid after it is sent.
SURVEY_VALIDITY = timedelta(days=14)
#: Longest comment kept with a survey answer.
MAX_COMMENT = 2000


@dataclass(slots=True)
class CallbackTask:
    """A follow-up call owed after a ticket was resolved."""

    ticket_id: str
    """The ticket."""
    due_at: datetime
    """By when the call must happen (the tier's callback window)."""
    created_at: datetime
    """When the task was created (the resolution)."""
    assignee: str | None = None
    """Who should call (the expert who resolved it)."""
    id: str = ""
    """``cbk_...``."""
    done_at: datetime | None = None
    """When the call was made."""
    outcome: str = ""
    """What the call found."""
    independent: bool | None = None
    """For exercise tickets: can the patient now train on their own?"""

    def __post_init__(self) -> None:
        self.id = self.id or new_id("cbk")


def callback_task_for(ticket: Ticket, policy: SlaPolicy, now: datetime) -> CallbackTask | None:
    """The callback owed after ``ticket`` was resolved, None when its tier has none."""
    if ticket.resolved_at is None:
        raise ValidationError(f"ticket {ticket.id} is not resolved")
    due = ticket.deadlines.callback_due_at or policy.callback_due(ticket.tier, ticket.resolved_at)
    if due is None:
        return None
    return CallbackTask(ticket.id, due, now, assignee=ticket.assignee)


def follow_up_after(task: CallbackTask, policy: SlaPolicy, ticket: Ticket) -> CallbackTask | None:
    """Another callback when the patient cannot train alone yet (follow-up until they can)."""
    if task.done_at is None or task.independent is not False:
        return None
    due = policy.callback_due(ticket.tier, task.done_at)
    if due is None:
        return None
    return CallbackTask(ticket.id, due, task.done_at, assignee=task.assignee)


def new_survey_token() -> tuple[str, str]:
    """A fresh link token and the hash to store (the token itself is never stored)."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    """SHA-256 of a survey token, hex; a leaked database does not yield working links."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(slots=True)
class SurveyLink:
    """A one-time survey link sent after resolution, and the answer once given."""

    token_hash: str
    """SHA-256 of the link's token."""
    ticket_id: str
    """The ticket the survey is about."""
    created_at: datetime
    """When it was issued."""
    expires_at: datetime
    """After this it is refused."""
    used_at: datetime | None = None
    """When it was answered."""
    score: int | None = None
    """1 (poor) .. 5 (excellent)."""
    comment: str = ""
    """Free text."""

    def check_answerable(self, now: datetime) -> None:
        """Raise SurveyUsedError or SurveyExpiredError when the link is spent."""
        if self.used_at is not None:
            raise SurveyUsedError(
                f"this survey link was already used at {self.used_at.isoformat()}",
                ticket_id=self.ticket_id,
            )
        if now >= self.expires_at:
            raise SurveyExpiredError(
                f"this survey link expired at {self.expires_at.isoformat()}",
                ticket_id=self.ticket_id,
            )


def check_answer(score: int, comment: str) -> tuple[int, str]:
    """Validate a survey answer: a whole score from 1 to 5, a comment of bounded length."""
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise ValidationError(f"score must be a whole number from 1 to 5, got {score!r}")
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationError(f"comment longer than {MAX_COMMENT} characters")
    return score, comment


@dataclass(slots=True)
class Complaint:
    """A complaint about a ticket's handling; it must close within 5 working days."""

    ticket_id: str
    """The ticket complained about."""
    reason: str
    """What the complainant says."""
    opened_by: str
    """Who complained."""
    opened_at: datetime
    """When."""
    due_at: datetime
    """Closing deadline, 5 working days in the business calendar."""
    id: str = ""
    """``cmp_...``."""
    closed_at: datetime | None = None
    """When it was closed."""
    resolution: str = ""
    """How it was settled."""

    def __post_init__(self) -> None:
        self.id = self.id or new_id("cmp")

    def overdue(self, now: datetime) -> bool:
        """Open past its deadline."""
        return self.closed_at is None and now > self.due_at


def open_complaint(
    ticket_id: str, reason: str, opened_by: str, now: datetime, calendar: BusinessCalendar
) -> Complaint:
    """A new complaint, due :data:`COMPLAINT_WORKING_DAYS` working days from now."""
    reason = reason.strip()
    if not reason:
        raise ValidationError("a complaint needs a reason")
    due = calendar.add_working_days(now, COMPLAINT_WORKING_DAYS)
    return Complaint(ticket_id, reason, opened_by, now, due)
