"""Ticket attachment endpoints: the annotated stills taken in the ticket's sessions.

The ticket's timeline is the index (one ``attachment_added`` entry per file), so every node
that shares the store and the data directory serves the same list. Only those who may see
the ticket may list or download; anyone else gets 404, and every download is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from sessions.exceptions import NotFoundError
from signaling import access
from signaling.annotating import ATTACHMENT_ACTION
from signaling.annotation_attachments import AttachmentFiles, valid_attachment_id
from signaling.api.registry import ApiRegistry, Call
from signaling.keys import REQUEST_ID_KEY, SERVICES_KEY
from signaling.services import Services

TAGS = ("attachments",)


class AttachmentOut(BaseModel):
    """A file kept on a ticket."""

    id: str
    ticket_id: str
    media_type: str
    size_bytes: int
    created_at: datetime
    created_by: str
    session_id: str | None = None
    producer_id: str | None = None
    media_time_s: float | None = None
    marks: int | None = None
    url: str


def _services(call: Call[Any, Any]) -> Services:
    return call.request.app[SERVICES_KEY]


async def _attachments(services: Services, ticket_id: str) -> list[AttachmentOut]:
    """The ticket's attachments, oldest first, from its timeline."""
    found = []
    for entry in await services.store.list_timeline(ticket_id):
        if entry.action != ATTACHMENT_ACTION:
            continue
        data = entry.data
        attachment_id = str(data.get("attachment_id"))
        found.append(
            AttachmentOut(
                id=attachment_id,
                ticket_id=ticket_id,
                media_type=str(data.get("media_type")),
                size_bytes=int(data.get("size_bytes") or 0),
                created_at=entry.at,
                created_by=entry.actor,
                session_id=data.get("session_id"),
                producer_id=data.get("producer_id"),
                media_time_s=data.get("media_time_s"),
                marks=data.get("marks"),
                url=f"/api/tickets/{ticket_id}/attachments/{attachment_id}",
            )
        )
    return found


async def list_attachments(call: Call[None, None]) -> list[AttachmentOut]:
    """The ticket's attachments, oldest first."""
    services = _services(call)
    ticket = await services.store.get_ticket(call.path("ticket_id"))
    access.require_view(call.caller, ticket)
    return await _attachments(services, ticket.id)


async def get_attachment(call: Call[None, None]) -> web.Response:
    """The content of one attachment (an annotated still is image/png)."""
    services = _services(call)
    ticket = await services.store.get_ticket(call.path("ticket_id"))
    access.require_view(call.caller, ticket)
    attachment_id = call.path("attachment_id")
    listed = valid_attachment_id(attachment_id) and any(
        a.id == attachment_id for a in await _attachments(services, ticket.id)
    )
    if not listed:
        raise NotFoundError(f"no attachment {attachment_id!r} on ticket {ticket.id}")
    body = await AttachmentFiles(services.settings.data_dir).read(ticket.id, attachment_id)
    await services.store.audit(
        actor=call.caller.identity,
        action="attachment_downloaded",
        object_type="attachment",
        object_id=attachment_id,
        now=services.clock.now(),
        data={"ticket_id": ticket.id, "role": call.caller.role.value},
        request_id=call.request.get(REQUEST_ID_KEY),
    )
    return web.Response(
        body=body,
        content_type="image/png",
        headers={
            "Cache-Control": "private, no-store",
            "Content-Disposition": f'inline; filename="{attachment_id}.png"',
            "X-Content-Type-Options": "nosniff",
        },
    )


def register(registry: ApiRegistry) -> None:
    """Add the attachment endpoints."""
    registry.route(
        "GET",
        "/api/tickets/{ticket_id}/attachments",
        summary="List a ticket's attachments",
        tags=TAGS,
        response=list[AttachmentOut],
        errors=(404,),
    )(list_attachments)
    registry.route(
        "GET",
        "/api/tickets/{ticket_id}/attachments/{attachment_id}",
        summary="Download an attachment (image/png)",
        tags=TAGS,
        errors=(404,),
    )(get_attachment)
