"""A patient's exercise progress across sessions, from the summaries kept on their tickets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from signaling.api.registry import ApiRegistry, Call
from signaling.coaching import SUMMARY_ACTION
from signaling.keys import SERVICES_KEY


class SessionProgress(BaseModel):
    """What one session measured for the patient, per exercise."""

    session_id: str
    ticket_id: str
    ended_at: datetime
    exercises: dict[str, dict[str, Any]]


class ProgressOut(BaseModel):
    """Sessions oldest first, each with reps, range of motion and issues per exercise."""

    patient: str
    sessions: list[SessionProgress]


async def patient_progress(call: Call[None, None]) -> ProgressOut:
    """Exercise figures across the patient's sessions (the patient and staff may read them)."""
    services = call.request.app[SERVICES_KEY]
    identity = call.path("identity")
    call.caller.require(
        call.caller.is_staff or call.caller.identity == identity, "read another patient's progress"
    )
    sessions: list[SessionProgress] = []
    cursor: str | None = None
    while True:
        tickets, cursor = await services.store.list_tickets(
            patient=identity, limit=200, cursor=cursor, newest_first=False
        )
        for ticket in tickets:
            for entry in await services.store.list_timeline(ticket.id):
                if entry.action == SUMMARY_ACTION and entry.data.get("identity") == identity:
                    sessions.append(
                        SessionProgress(
                            session_id=str(entry.data.get("session_id")),
                            ticket_id=ticket.id,
                            ended_at=entry.at,
                            exercises=dict(entry.data.get("exercises") or {}),
                        )
                    )
        if cursor is None:
            break
    sessions.sort(key=lambda s: s.ended_at)
    return ProgressOut(patient=identity, sessions=sessions)


def register(registry: ApiRegistry) -> None:
    """Add the progress endpoint."""
    registry.route(
        "GET",
        "/api/patients/{identity}/progress",
        summary="A patient's progress",
        tags=("analysis",),
        response=ProgressOut,
        errors=(404,),
    )(patient_progress)
