"""Wire models of the service-desk endpoints (bodies, queries and answers)."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema

from sessions.servicedesk.aftercare import CallbackTask, Complaint
from sessions.servicedesk.endpoints import EVENT_FAMILIES, WebhookEndpoint
from sessions.servicedesk.experts import ExpertProfile
from sessions.servicedesk.outbox import OutboxMessage
from sessions.servicedesk.routing import QueueEntry

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Identity = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@:-]{1,128}$")]
# Text that must say something: at least one non-space character.
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=r"\S")]
_FAMILIES = "|".join(sorted(EVENT_FAMILIES))
Subscription = Annotated[
    str, StringConstraints(pattern=rf"^(\*|({_FAMILIES})\.(\*|[a-z_]{{1,64}}))$")
]
WebhookUrl = Annotated[
    str,
    StringConstraints(
        max_length=2000, pattern=r"^https?://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?(/\S*)?$"
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkingInterval(_Strict):
    """One span of working hours, local to the expert's time zone."""

    day: int = Field(ge=0, le=6, description="Weekday, 0 = Monday.")
    start: time = Field(description="Local start, e.g. 09:00.")
    end: time = Field(description="Local end (after start; nights belong in the rota).")

    @field_validator("start", "end")
    @classmethod
    def _local(cls, value: time) -> time:
        # Hours are local to the profile's zone; an offset in the string would mean another.
        return value.replace(tzinfo=None)


class OnCallShiftIn(_Strict):
    """One on-call rota entry (UTC instants)."""

    start: AwareDatetime
    end: AwareDatetime


class ExpertFields(_Strict):
    """An expert profile (skills and languages must be in the configured catalogue)."""

    name: Name
    skills: list[Tag] = Field(default_factory=list, max_length=100)
    languages: list[Tag] = Field(min_length=1, max_length=20)
    timezone: Tag = "UTC"
    working_hours: list[WorkingInterval] | None = Field(
        None, max_length=70, description="Default: Monday to Friday 09:00-17:00."
    )
    capacity: int = Field(2, ge=1, le=50, description="Tickets held at once.")
    on_call: list[OnCallShiftIn] = Field(default_factory=list, max_length=500)
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    locale: Tag = "en"


class ExpertCreate(ExpertFields):
    """Body of POST /api/desk/experts."""

    identity: Identity


class ExpertOut(BaseModel):
    """An expert with their live presence and load."""

    identity: str
    name: str
    skills: list[str]
    languages: list[str]
    timezone: str
    working_hours: list[WorkingInterval]
    capacity: int
    on_call: list[OnCallShiftIn]
    email: str | None
    locale: str
    presence: str = Field(description="online, busy, away or offline.")
    load: int = Field(description="Tickets held and offers pending.")


def expert_out(profile: ExpertProfile, presence: str, load: int) -> ExpertOut:
    """The wire form of a profile."""
    hours = [
        WorkingInterval(day=day, start=start, end=end)
        for day, spans in sorted(profile.working_hours.items())
        for start, end in spans
    ]
    return ExpertOut(
        identity=profile.identity,
        name=profile.name,
        skills=sorted(profile.skills),
        languages=sorted(profile.languages),
        timezone=profile.timezone,
        working_hours=hours,
        capacity=profile.capacity,
        on_call=[OnCallShiftIn(start=s.start, end=s.end) for s in profile.on_call],
        email=profile.email,
        locale=profile.locale,
        presence=presence,
        load=load,
    )


class QueueEntryOut(BaseModel):
    """A ticket waiting for an expert."""

    ticket_id: str
    due_at: datetime = Field(description="The deadline it races against.")
    language: str
    skill_options: list[list[str]] = Field(description="One of each inner list is needed.")
    enqueued_at: datetime
    offered_to: str | None = Field(description="The expert holding a pending offer, if any.")
    excluded: list[str] = Field(description="Experts who declined or let an offer lapse.")


def queue_out(entry: QueueEntry, offered_to: str | None) -> QueueEntryOut:
    """The wire form of a queue entry."""
    return QueueEntryOut(
        ticket_id=entry.ticket_id,
        due_at=entry.due_at,
        language=entry.language,
        skill_options=[sorted(option) for option in entry.skill_options],
        enqueued_at=entry.enqueued_at,
        offered_to=offered_to,
        excluded=sorted(entry.excluded),
    )


class AssignBody(_Strict):
    """Body of POST /api/desk/tickets/{ticket_id}/assign."""

    expert: Identity


class CallbackOut(BaseModel):
    """A follow-up call owed after resolution."""

    id: str
    ticket_id: str
    due_at: datetime
    created_at: datetime
    assignee: str | None
    done_at: datetime | None
    outcome: str
    independent: bool | None


def callback_out(task: CallbackTask) -> CallbackOut:
    """The wire form of a callback task."""
    return CallbackOut(
        id=task.id,
        ticket_id=task.ticket_id,
        due_at=task.due_at,
        created_at=task.created_at,
        assignee=task.assignee,
        done_at=task.done_at,
        outcome=task.outcome,
        independent=task.independent,
    )


class CallbackComplete(_Strict):
    """Body of POST /api/desk/callbacks/{callback_id}/complete."""

    outcome: Text
    independent: bool | None = Field(
        None, description="Exercise follow-up: false schedules another call."
    )


class CallbackDone(BaseModel):
    """The answer to a completed callback."""

    next: CallbackOut | None = Field(description="The next call, when one was scheduled.")


class SurveyForm(BaseModel):
    """What the survey page shows before the answer."""

    ticket_id: str
    title: str
    expires_at: datetime
    answered: bool


class SurveyAnswer(_Strict):
    """Body of POST /api/survey/{token}."""

    score: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent).")
    comment: Annotated[str, StringConstraints(max_length=2000)] = ""


class ComplaintOpen(_Strict):
    """Body of POST /api/tickets/{ticket_id}/complaints."""

    reason: Text


class ComplaintClose(_Strict):
    """Body of POST /api/desk/complaints/{complaint_id}/close."""

    resolution: Text


class ComplaintOut(BaseModel):
    """A complaint and its deadline."""

    id: str
    ticket_id: str
    reason: str
    opened_by: str
    opened_at: datetime
    due_at: datetime
    closed_at: datetime | None
    resolution: str


def complaint_out(complaint: Complaint) -> ComplaintOut:
    """The wire form of a complaint."""
    return ComplaintOut(
        id=complaint.id,
        ticket_id=complaint.ticket_id,
        reason=complaint.reason,
        opened_by=complaint.opened_by,
        opened_at=complaint.opened_at,
        due_at=complaint.due_at,
        closed_at=complaint.closed_at,
        resolution=complaint.resolution,
    )


class WebhookCreate(_Strict):
    """Body of POST /api/desk/webhooks."""

    url: WebhookUrl
    events: list[Subscription] = Field(min_length=1, max_length=50)
    description: Annotated[str, StringConstraints(max_length=500)] = ""
    secret: Annotated[str, StringConstraints(min_length=16, max_length=200)] | None = Field(
        None, description="Default: a generated 256-bit secret."
    )


class WebhookOut(BaseModel):
    """A webhook endpoint (the secret is shown only when it is created)."""

    id: str
    url: str
    events: list[str]
    description: str
    active: bool


class WebhookCreated(WebhookOut):
    """A new endpoint, with its signing secret (shown this once)."""

    secret: str


def webhook_out(endpoint: WebhookEndpoint) -> WebhookOut:
    """The wire form of an endpoint, without its secret."""
    return WebhookOut(
        id=endpoint.id,
        url=endpoint.url,
        events=sorted(endpoint.events),
        description=endpoint.description,
        active=endpoint.active,
    )


class DeadLetterOut(BaseModel):
    """A notification that could not be delivered, with every error."""

    id: str
    channel: str
    target: str
    event_type: str
    created_at: datetime
    attempts: int
    last_error: str
    errors: list[str]
    payload: dict[str, Any]


def dead_letter_out(message: OutboxMessage) -> DeadLetterOut:
    """The wire form of a dead letter."""
    return DeadLetterOut(
        id=message.id,
        channel=message.channel.value,
        target=message.target,
        event_type=message.event_type,
        created_at=message.created_at,
        attempts=message.attempts,
        last_error=message.last_error,
        errors=list(message.errors),
        payload=message.payload,
    )


class DeadLetterQuery(_Strict):
    """Query of GET /api/desk/dead-letters."""

    limit: int = Field(100, ge=1, le=500)


class ReportQuery(_Strict):
    """Query of GET /api/reports/sla: any day of the week wanted (default: this week)."""

    week: date | None = Field(
        None, description="A day (YYYY-MM-DD) of the week; the report starts on its Monday."
    )
    # Kept out of the schema: the documented CSV form is /api/reports/sla.csv, which one
    # OpenAPI operation per content type describes more plainly than a switch would.
    format: SkipJsonSchema[Literal["json", "csv"]] = "json"

    @field_validator("week", mode="before")
    @classmethod
    def _iso_day(cls, value: Any) -> Any:
        # Lax parsing would read "0" as a Unix timestamp; only a calendar day is meant.
        if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError("week must be a day as YYYY-MM-DD")
        return value
