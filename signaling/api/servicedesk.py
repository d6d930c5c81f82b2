"""Service-desk endpoints: experts, the queue, manual assignment, callbacks, surveys, complaints.

Experts, queue and assignment need the routing state, so they answer 409 ``desk_elsewhere``
on a node that does not run the desk; the rest works on any node.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from sessions.exceptions import ValidationError
from sessions.servicedesk.exceptions import ProfileRejectedError
from sessions.servicedesk.experts import ExpertProfile, OnCallShift
from sessions.servicedesk.service import ServiceDesk
from signaling import access
from signaling.api.registry import ApiRegistry, Call
from signaling.api.servicedesk_models import (
    AssignBody,
    CallbackComplete,
    CallbackDone,
    CallbackOut,
    ComplaintClose,
    ComplaintOpen,
    ComplaintOut,
    ExpertCreate,
    ExpertFields,
    ExpertOut,
    QueueEntryOut,
    SurveyAnswer,
    SurveyForm,
    callback_out,
    complaint_out,
    expert_out,
    queue_out,
)
from signaling.api.ticket_models import TicketOut
from signaling.api.tickets import present
from signaling.auth import Principal
from signaling.desk_node import DeskNode, desk_node
from signaling.keys import SERVICES_KEY

TAGS = ("service desk",)


def _node(call: Call[Any, Any]) -> DeskNode:
    return desk_node(call.request.app[SERVICES_KEY])


def _require_assigner(principal: Principal, what: str) -> None:
    principal.require(principal.role in access.ASSIGNERS, what)


def _require_staff(principal: Principal, what: str) -> None:
    principal.require(principal.is_staff, what)


# -- experts ---------------------------------------------------------------------------------


def _out(desk: ServiceDesk, profile: ExpertProfile) -> ExpertOut:
    presence = desk.router.presence.get(profile.identity).value
    return expert_out(profile, presence, desk.router.load(profile.identity))


async def _save(desk: ServiceDesk, identity: str, body: ExpertFields) -> ExpertProfile:
    hours: dict[int, list[tuple[time, time]]] | None = None
    if body.working_hours is not None:
        hours = {}
        for span in body.working_hours:
            hours.setdefault(span.day, []).append((span.start, span.end))
    try:
        return await desk.register_expert(
            identity=identity,
            name=body.name,
            skills=body.skills,
            languages=body.languages,
            timezone=body.timezone,
            working_hours=hours,
            capacity=body.capacity,
            on_call=[OnCallShift(s.start, s.end) for s in body.on_call],
            email=body.email,
            locale=body.locale,
        )
    except ValidationError as exc:
        # Well-formed, but refused by the configured catalogue or the desk's rules.
        raise ProfileRejectedError(exc.message, **exc.details) from exc


async def register_expert(call: Call[ExpertCreate, None]) -> ExpertOut:
    """Register an expert (supervisor or admin)."""
    _require_assigner(call.caller, "register experts")
    desk = _node(call).require_desk()
    return _out(desk, await _save(desk, call.body.identity, call.body))


async def update_expert(call: Call[ExpertFields, None]) -> ExpertOut:
    """Replace an expert's profile (supervisor or admin)."""
    _require_assigner(call.caller, "change experts")
    desk = _node(call).require_desk()
    identity = call.path("identity")
    desk.router.expert(identity)  # 404 for someone not registered
    return _out(desk, await _save(desk, identity, call.body))


async def remove_expert(call: Call[None, None]) -> None:
    """Remove an expert; their pending offers go to others (supervisor or admin)."""
    _require_assigner(call.caller, "remove experts")
    desk = _node(call).require_desk()
    identity = call.path("identity")
    desk.router.expert(identity)
    await desk.remove_expert(identity)


async def list_experts(call: Call[None, None]) -> list[ExpertOut]:
    """Every expert with presence and load (staff)."""
    _require_staff(call.caller, "see the experts")
    desk = _node(call).require_desk()
    return [_out(desk, p) for p in sorted(desk.experts(), key=lambda p: p.identity)]


# -- queue and assignment --------------------------------------------------------------------


async def desk_queue(call: Call[None, None]) -> list[QueueEntryOut]:
    """Tickets waiting for an expert, earliest deadline first (staff)."""
    _require_staff(call.caller, "see the queue")
    desk = _node(call).require_desk()
    out = []
    for entry in desk.queue():
        offer = desk.router.pending_offer(entry.ticket_id)
        out.append(queue_out(entry, offer.expert if offer else None))
    return out


async def assign_ticket(call: Call[AssignBody, None]) -> TicketOut:
    """Assign a ticket by hand, overriding presence and capacity (supervisor or admin)."""
    _require_assigner(call.caller, "assign tickets")
    desk = _node(call).require_desk()
    ticket = await desk.assign(call.path("ticket_id"), call.body.expert, call.caller.identity)
    return present(call.request.app[SERVICES_KEY], ticket)


# -- callbacks -------------------------------------------------------------------------------


async def list_callbacks(call: Call[None, None]) -> list[CallbackOut]:
    """Follow-up calls still to make, earliest first (staff)."""
    _require_staff(call.caller, "see callbacks")
    tasks = await _node(call).records().repo.open_callbacks()
    return [callback_out(t) for t in tasks]


async def complete_callback(call: Call[CallbackComplete, None]) -> CallbackDone:
    """Record a follow-up call; the answer names the next one if the patient needs it."""
    _require_staff(call.caller, "complete callbacks")
    desk = _node(call).records()
    body = call.body
    follow_up = await desk.complete_callback(
        call.path("callback_id"), body.outcome, body.independent, call.caller.identity
    )
    return CallbackDone(next=None if follow_up is None else callback_out(follow_up))


# -- surveys (no sign-in: the link's token is the credential) --------------------------------


async def survey_form(call: Call[None, None]) -> SurveyForm:
    """What the survey page shows; 404 for an unknown link."""
    desk = _node(call).records()
    link = await desk.repo.get_survey(call.path("token"))
    ticket = await desk.store.get_ticket(link.ticket_id)
    return SurveyForm(
        ticket_id=ticket.id,
        title=ticket.title,
        expires_at=link.expires_at,
        answered=link.used_at is not None,
    )


async def survey_answer(call: Call[SurveyAnswer, None]) -> None:
    """Answer once; the second use is 409 ``survey_used``, a lapsed link 409 ``survey_expired``."""
    desk = _node(call).records()
    await desk.submit_survey(call.path("token"), call.body.score, call.body.comment)


# -- complaints ------------------------------------------------------------------------------


async def open_complaint(call: Call[ComplaintOpen, None]) -> ComplaintOut:
    """Complain about a ticket's handling (its parties and staff); due in 5 working days."""
    desk = _node(call).records()
    ticket = await desk.store.get_ticket(call.path("ticket_id"))
    access.require_view(call.caller, ticket)
    complaint = await desk.open_complaint(ticket.id, call.body.reason, call.caller.identity)
    return complaint_out(complaint)


async def list_complaints(call: Call[None, None]) -> list[ComplaintOut]:
    """Open complaints, earliest deadline first (staff)."""
    _require_staff(call.caller, "see complaints")
    complaints = await _node(call).records().repo.open_complaints()
    return [complaint_out(c) for c in sorted(complaints, key=lambda c: c.due_at)]


async def close_complaint(call: Call[ComplaintClose, None]) -> ComplaintOut:
    """Close a complaint with how it was settled (supervisor or admin)."""
    _require_assigner(call.caller, "close complaints")
    desk = _node(call).records()
    complaint = await desk.close_complaint(
        call.path("complaint_id"), call.body.resolution, call.caller.identity
    )
    return complaint_out(complaint)


def register(registry: ApiRegistry) -> None:
    """Add the service-desk endpoints."""
    route = registry.route
    experts = "/api/desk/experts"
    route(
        "POST",
        experts,
        summary="Register an expert",
        tags=TAGS,
        body=ExpertCreate,
        response=ExpertOut,
        status=201,
        errors=(409,),
    )(register_expert)
    route(
        "GET", experts, summary="List experts", tags=TAGS, response=list[ExpertOut], errors=(409,)
    )(list_experts)
    route(
        "PUT",
        experts + "/{identity}",
        summary="Update an expert",
        tags=TAGS,
        body=ExpertFields,
        response=ExpertOut,
        errors=(404, 409),
    )(update_expert)
    route(
        "DELETE",
        experts + "/{identity}",
        summary="Remove an expert",
        tags=TAGS,
        status=204,
        errors=(404, 409),
    )(remove_expert)
    route(
        "GET",
        "/api/desk/queue",
        summary="The routing queue",
        tags=TAGS,
        response=list[QueueEntryOut],
        errors=(409,),
    )(desk_queue)
    route(
        "POST",
        "/api/desk/tickets/{ticket_id}/assign",
        summary="Assign a ticket by hand",
        tags=TAGS,
        body=AssignBody,
        response=TicketOut,
        errors=(404, 409),
    )(assign_ticket)
    route(
        "GET",
        "/api/desk/callbacks",
        summary="Open callbacks",
        tags=TAGS,
        response=list[CallbackOut],
    )(list_callbacks)
    route(
        "POST",
        "/api/desk/callbacks/{callback_id}/complete",
        summary="Complete a callback",
        tags=TAGS,
        body=CallbackComplete,
        response=CallbackDone,
        errors=(404, 409),
    )(complete_callback)
    route(
        "GET",
        "/api/survey/{token}",
        summary="A survey's form data",
        tags=TAGS,
        response=SurveyForm,
        auth=False,
        errors=(404,),
    )(survey_form)
    route(
        "POST",
        "/api/survey/{token}",
        summary="Answer a survey (once)",
        tags=TAGS,
        body=SurveyAnswer,
        status=204,
        auth=False,
        errors=(404, 409),
    )(survey_answer)
    route(
        "POST",
        "/api/tickets/{ticket_id}/complaints",
        summary="Open a complaint",
        tags=TAGS,
        body=ComplaintOpen,
        response=ComplaintOut,
        status=201,
        errors=(404,),
    )(open_complaint)
    route(
        "GET",
        "/api/desk/complaints",
        summary="Open complaints",
        tags=TAGS,
        response=list[ComplaintOut],
    )(list_complaints)
    route(
        "POST",
        "/api/desk/complaints/{complaint_id}/close",
        summary="Close a complaint",
        tags=TAGS,
        body=ComplaintClose,
        response=ComplaintOut,
        errors=(404, 409),
    )(close_complaint)
