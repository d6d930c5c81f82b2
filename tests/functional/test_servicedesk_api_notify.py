"""Webhooks through the real node: endpoints API, signed delivery, dead letters, redrive."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from sessions.clock import ManualClock
from signaling.notify.signing import verify
from tests.app_fixtures import TokenFactory
from tests.functional.test_servicedesk_api import eventually, open_ticket

pytestmark = pytest.mark.servicedesk

Client = TestClient[Any, Any]
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


class Receiver:
    """A local webhook receiver: ``/hook`` takes everything, ``/gone`` answers 410."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.app = web.Application()
        self.app.router.add_post("/hook", self._hook)
        self.app.router.add_post("/gone", self._gone)

    async def _hook(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    async def _gone(self, request: web.Request) -> web.Response:
        return web.Response(status=410, text="endpoint retired")


@pytest.fixture
async def receiver(aiohttp_server: ServerFactory) -> tuple[Receiver, str]:
    """The receiver and its base URL."""
    hooks = Receiver()
    server = await aiohttp_server(hooks.app)
    return hooks, f"http://127.0.0.1:{server.port}"


async def _add(client: Client, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await client.post("/api/desk/webhooks", headers=headers, json=body)
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def test_ticket_created_is_delivered_signed(
    client: Client, tokens: TokenFactory, clock: ManualClock, receiver: tuple[Receiver, str]
) -> None:
    """Creating a ticket sends a signed ticket.created the receiver can verify."""
    hooks, base = receiver
    admin = tokens.headers("root", "admin")
    endpoint = await _add(client, admin, url=f"{base}/hook", events=["ticket.*"])
    assert len(endpoint["secret"]) >= 32
    listed = await (await client.get("/api/desk/webhooks", headers=admin)).json()
    assert [e["id"] for e in listed] == [endpoint["id"]]
    assert "secret" not in listed[0]

    ticket = await open_ticket(client, tokens)

    async def delivered() -> bool:
        return bool(hooks.received)

    await eventually(delivered, "the webhook delivery")
    headers, body = hooks.received[0]
    assert headers["X-TeleGuide-Event"] == "ticket.created"
    signature = headers["X-TeleGuide-Signature"]
    verify(endpoint["secret"], signature, body, int(clock.now().timestamp()))
    with pytest.raises(Exception, match="does not match"):
        verify("another-secret-of-enough-length", signature, body, int(clock.now().timestamp()))
    event = json.loads(body)
    assert (event["type"], event["data"]["ticket_id"]) == ("ticket.created", ticket["id"])
    assert headers["X-TeleGuide-Delivery"] == event["id"]

    removed = await client.delete(f"/api/desk/webhooks/{endpoint['id']}", headers=admin)
    assert removed.status == 204
    assert await (await client.get("/api/desk/webhooks", headers=admin)).json() == []
    gone = await client.delete(f"/api/desk/webhooks/{endpoint['id']}", headers=admin)
    assert gone.status == 404


async def test_refused_delivery_is_a_dead_letter_readable_and_redriven(
    client: Client, tokens: TokenFactory, receiver: tuple[Receiver, str]
) -> None:
    """A 410 answer is final: the message is listed with its error, and can be redriven."""
    _, base = receiver
    admin = tokens.headers("root", "admin")
    endpoint = await _add(client, admin, url=f"{base}/gone", events=["ticket.created"])
    await open_ticket(client, tokens)
    letters: list[dict[str, Any]] = []

    async def dead() -> bool:
        found = await (await client.get("/api/desk/dead-letters", headers=admin)).json()
        letters[:] = [m for m in found if m["target"] == endpoint["id"]]
        return bool(letters)

    await eventually(dead, "the dead letter")
    [letter] = letters
    assert letter["event_type"] == "ticket.created"
    assert "410" in letter["last_error"]
    assert letter["errors"] == [letter["last_error"]]
    expert = tokens.headers("ana", "expert")
    assert (await client.get("/api/desk/dead-letters", headers=expert)).status == 403
    redrive = f"/api/desk/dead-letters/{letter['id']}/redrive"
    assert (await client.post(redrive, headers=admin)).status == 204
    missing = await client.post("/api/desk/dead-letters/msg_missing/redrive", headers=admin)
    assert missing.status == 404


async def test_bad_endpoints_are_refused(client: Client, tokens: TokenFactory) -> None:
    """Scheme, subscriptions, secret length and role are checked, with problem documents."""
    admin = tokens.headers("root", "admin")
    good = {"url": "https://hooks.example/x", "events": ["ticket.*"]}
    for body in (
        {**good, "url": "ftp://hooks.example/x"},
        {**good, "events": ["bogus.*"]},
        {**good, "events": []},
        {**good, "secret": "short"},
    ):
        response = await client.post("/api/desk/webhooks", headers=admin, json=body)
        assert response.status == 422, body
        assert (await response.json())["code"] == "invalid_input"
    sup = tokens.headers("sup", "supervisor")
    assert (await client.post("/api/desk/webhooks", headers=sup, json=good)).status == 403
    assert (await client.post("/api/desk/webhooks", json=good)).status == 401
