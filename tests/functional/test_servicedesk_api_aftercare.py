"""After resolution through the real server: survey link (once), callback, complaint."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from sessions.clock import ManualClock
from signaling.keys import SERVICES_KEY
from tests.app_fixtures import TokenFactory
from tests.functional.test_servicedesk_api import eventually, open_ticket, register_expert

pytestmark = pytest.mark.servicedesk

Client = TestClient[Any, Any]


async def _resolved_ticket(
    client: Client, app: web.Application, tokens: TokenFactory, clock: ManualClock
) -> dict[str, Any]:
    """A ticket of tech-1 (who has an email address) assigned to ana and resolved."""
    await app[SERVICES_KEY].store.upsert_user(
        identity="tech-1",
        display_name="Tech One",
        role="technician",
        language="en",
        now=clock.now(),
        email="tech-1@clinic.example",
    )
    await register_expert(client, tokens, "ana", ["infusion_pump"])
    ticket = await open_ticket(client, tokens)
    sup = tokens.headers("sup", "supervisor")
    assign = f"/api/desk/tickets/{ticket['id']}/assign"
    assert (await client.post(assign, headers=sup, json={"expert": "ana"})).status == 200
    resolve = await client.post(
        f"/api/tickets/{ticket['id']}/transition",
        headers=tokens.headers("ana", "expert"),
        json={"status": "resolved"},
    )
    assert resolve.status == 200, await resolve.text()
    return ticket


async def _survey_token(client: Client, tokens: TokenFactory) -> str:
    """The survey link of the invitation mail (no SMTP configured: it is a dead letter)."""
    admin = tokens.headers("root", "admin")
    found: list[str] = []

    async def mailed() -> bool:
        letters = await (await client.get("/api/desk/dead-letters", headers=admin)).json()
        found[:] = [
            m["payload"]["text"] for m in letters if m["event_type"] == "email.survey_invitation"
        ]
        return bool(found)

    await eventually(mailed, "the survey invitation")
    match = re.search(r"/survey/([A-Za-z0-9_-]+)", found[0])
    assert match is not None, found[0]
    return match.group(1)


async def test_survey_link_works_once(
    client: Client, app: web.Application, tokens: TokenFactory, clock: ManualClock
) -> None:
    """GET shows the form without sign-in; the first answer counts, the second is 409."""
    ticket = await _resolved_ticket(client, app, tokens, clock)
    token = await _survey_token(client, tokens)

    form = await client.get(f"/api/survey/{token}")
    assert form.status == 200
    body = await form.json()
    assert (body["ticket_id"], body["answered"]) == (ticket["id"], False)
    bad = await client.post(f"/api/survey/{token}", json={"score": 6})
    assert bad.status == 422
    assert (await bad.json())["code"] == "invalid_input"
    first = await client.post(f"/api/survey/{token}", json={"score": 5, "comment": "quick fix"})
    assert first.status == 204
    second = await client.post(f"/api/survey/{token}", json={"score": 1})
    assert second.status == 409
    assert second.content_type == "application/problem+json"
    assert (await second.json())["code"] == "survey_used"
    assert (await (await client.get(f"/api/survey/{token}")).json())["answered"] is True
    assert (await client.get("/api/survey/not-a-token")).status == 404
    assert (await client.post("/api/survey/not-a-token", json={"score": 3})).status == 404

    timeline = await client.get(
        f"/api/tickets/{ticket['id']}/timeline", headers=tokens.headers("sup", "supervisor")
    )
    answered = [e for e in await timeline.json() if e["action"] == "survey_answered"]
    assert [e["data"]["score"] for e in answered] == [5]


async def test_callback_and_complaint(
    client: Client, app: web.Application, tokens: TokenFactory, clock: ManualClock
) -> None:
    """The callback owed after resolution is completed once; a complaint opens and closes."""
    ticket = await _resolved_ticket(client, app, tokens, clock)
    sup = tokens.headers("sup", "supervisor")
    callbacks: list[dict[str, Any]] = []

    async def scheduled() -> bool:
        callbacks[:] = await (await client.get("/api/desk/callbacks", headers=sup)).json()
        return bool(callbacks)

    await eventually(scheduled, "the callback task")
    [task] = callbacks
    assert task["ticket_id"] == ticket["id"]
    path = f"/api/desk/callbacks/{task['id']}/complete"
    patient = tokens.headers("tech-1", "technician")
    assert (await client.post(path, headers=patient, json={"outcome": "ok"})).status == 403
    blank = await client.post(path, headers=sup, json={"outcome": "   "})
    assert blank.status == 422
    done = await client.post(path, headers=sup, json={"outcome": "pump runs"})
    assert done.status == 200
    assert (await done.json())["next"] is None
    again = await client.post(path, headers=sup, json={"outcome": "pump runs"})
    assert again.status == 409
    stored = await (await client.get(f"/api/tickets/{ticket['id']}", headers=sup)).json()
    assert stored["status"] == "callback_done"

    complaints = f"/api/tickets/{ticket['id']}/complaints"
    stranger = tokens.headers("someone", "patient")
    assert (await client.post(complaints, headers=stranger, json={"reason": "x"})).status == 404
    opened = await client.post(complaints, headers=patient, json={"reason": "took too long"})
    assert opened.status == 201
    complaint = await opened.json()
    listed = await (await client.get("/api/desk/complaints", headers=sup)).json()
    assert [c["id"] for c in listed] == [complaint["id"]]
    close = f"/api/desk/complaints/{complaint['id']}/close"
    expert = tokens.headers("ana", "expert")
    assert (await client.post(close, headers=expert, json={"resolution": "x"})).status == 403
    closed = await client.post(close, headers=sup, json={"resolution": "apologised"})
    assert closed.status == 200
    assert (await closed.json())["closed_at"] is not None
    assert (await client.post(close, headers=sup, json={"resolution": "again"})).status == 409
    assert await (await client.get("/api/desk/complaints", headers=sup)).json() == []
