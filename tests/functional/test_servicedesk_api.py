"""The service desk through the real server: experts, presence and offers over /ws, the queue.

The other ``test_servicedesk_api_*`` files import the helpers defined here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from sessions.clock import ManualClock
from tests.app_fixtures import TokenFactory
from tests.ws_peer import connect_peer

pytestmark = pytest.mark.servicedesk

Client = TestClient[Any, Any]


async def register_expert(
    client: Client, tokens: TokenFactory, identity: str, skills: list[str], **extra: Any
) -> dict[str, Any]:
    """Register an expert as a supervisor."""
    body = {"identity": identity, "name": identity.title(), "skills": skills, "languages": ["en"]}
    response = await client.post(
        "/api/desk/experts", headers=tokens.headers("sup", "supervisor"), json={**body, **extra}
    )
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def open_ticket(
    client: Client, tokens: TokenFactory, *, model: str = "Alaris GP", **fields: Any
) -> dict[str, Any]:
    """Open a device ticket as the clinic's technician."""
    body = {
        "kind": "device_fault",
        "tier": "urgent",
        "title": "pump alarm",
        "device": {"model": model, "serial": "SN-1"},
        **fields,
    }
    response = await client.post(
        "/api/tickets", headers=tokens.headers("tech-1", "technician"), json=body
    )
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait (bounded) until ``check`` holds: the bus and the desk act in background tasks."""
    for _ in range(200):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def expert_row(client: Client, tokens: TokenFactory, identity: str) -> dict[str, Any]:
    """The expert as GET /api/desk/experts shows them."""
    response = await client.get("/api/desk/experts", headers=tokens.headers("sup", "supervisor"))
    assert response.status == 200
    [row] = [e for e in await response.json() if e["identity"] == identity]
    return dict(row)


async def test_offer_accepted_over_ws_assigns_the_ticket(
    client: Client, tokens: TokenFactory
) -> None:
    """presence online -> offer_made -> offer_accept -> ticket assigned; away on disconnect."""
    await register_expert(client, tokens, "ana", ["infusion_pump"])
    ana = await connect_peer(client, tokens("ana", "expert"))
    assert (await ana.call("presence", state="online"))["presence"] == "online"
    ticket = await open_ticket(client, tokens)

    offer = await ana.event("offer_made", ticket_id=ticket["id"])
    assert offer["expert"] == "ana"
    assert offer["state"] == "pending"
    reply = await ana.call("offer_accept", offer_id=offer["offer_id"])
    assert reply["ok"]
    assert reply["status"] == "assigned"
    assert reply["assignee"] == "ana"
    assigned = await ana.event("ticket_assigned", ticket_id=ticket["id"])
    assert assigned["by"] == "ana"
    assert assigned["offer_id"] == offer["offer_id"]

    stored = await client.get(
        f"/api/tickets/{ticket['id']}", headers=tokens.headers("sup", "supervisor")
    )
    body = await stored.json()
    assert (body["status"], body["assignee"]) == ("assigned", "ana")
    row = await expert_row(client, tokens, "ana")
    assert (row["presence"], row["load"]) == ("online", 1)

    await ana.ws.close()

    async def away() -> bool:
        return (await expert_row(client, tokens, "ana"))["presence"] == "away"

    await eventually(away, "presence away after the last connection closed")


async def test_offer_answered_after_expiry_is_refused_and_goes_on(
    client: Client, tokens: TokenFactory, clock: ManualClock
) -> None:
    """An accept after the 60 s timeout gets offer_expired; the ticket is offered to the next."""
    await register_expert(client, tokens, "ana", ["infusion_pump"])
    await register_expert(client, tokens, "ben", ["Alaris GP"])
    ana = await connect_peer(client, tokens("ana", "expert"))
    await ana.call("presence", state="online")
    ticket = await open_ticket(client, tokens)
    first = await ana.event("offer_made", ticket_id=ticket["id"])

    clock.set(clock.now() + timedelta(seconds=61))
    reply = await ana.call("offer_accept", offer_id=first["offer_id"])
    assert not reply["ok"]
    assert reply["error"]["code"] == "offer_expired"
    closed = await ana.event("offer_closed", offer_id=first["offer_id"])
    assert closed["state"] == "expired"

    ben = await connect_peer(client, tokens("ben", "expert"))
    await ben.call("presence", state="online")
    second = await ben.event("offer_made", ticket_id=ticket["id"])
    declined = await ben.call("offer_decline", offer_id=second["offer_id"])
    assert declined["ok"]
    assert declined["offer"]["state"] == "declined"
    queue = await client.get("/api/desk/queue", headers=tokens.headers("ana", "expert"))
    [entry] = await queue.json()
    assert entry["ticket_id"] == ticket["id"]
    assert entry["excluded"] == ["ana", "ben"]
    await ana.ws.close()
    await ben.ws.close()


async def test_busy_expert_gets_no_offer_and_a_stranger_cannot_set_presence(
    client: Client, tokens: TokenFactory
) -> None:
    """busy withdraws nothing new; presence is for registered experts only."""
    await register_expert(client, tokens, "ana", ["infusion_pump"])
    ana = await connect_peer(client, tokens("ana", "expert"))
    assert (await ana.call("presence", state="busy"))["ok"]
    ticket = await open_ticket(client, tokens)

    async def queued() -> bool:
        queue = await client.get("/api/desk/queue", headers=tokens.headers("sup", "supervisor"))
        return [e["ticket_id"] for e in await queue.json()] == [ticket["id"]]

    await eventually(queued, "the ticket in the queue")
    queue = await client.get("/api/desk/queue", headers=tokens.headers("sup", "supervisor"))
    assert (await queue.json())[0]["offered_to"] is None
    stranger = await connect_peer(client, tokens("zoe", "expert"))
    reply = await stranger.call("presence", state="online")
    assert reply["error"]["code"] == "not_found"
    bad = await stranger.call("presence", state="asleep")
    assert bad["error"]["code"] == "invalid_input"
    await ana.ws.close()
    await stranger.ws.close()


async def test_supervisor_assigns_by_hand(client: Client, tokens: TokenFactory) -> None:
    """Manual assignment overrides presence; only supervisors and admins may."""
    await register_expert(client, tokens, "ana", ["infusion_pump"])
    ticket = await open_ticket(client, tokens)
    path = f"/api/desk/tickets/{ticket['id']}/assign"
    denied = await client.post(
        path, headers=tokens.headers("ana", "expert"), json={"expert": "ana"}
    )
    assert denied.status == 403
    assert denied.content_type == "application/problem+json"
    unknown = await client.post(
        path, headers=tokens.headers("sup", "supervisor"), json={"expert": "nobody"}
    )
    assert unknown.status == 404
    done = await client.post(
        path, headers=tokens.headers("sup", "supervisor"), json={"expert": "ana"}
    )
    assert done.status == 200, await done.text()
    body = await done.json()
    assert (body["status"], body["assignee"]) == ("assigned", "ana")
    missing = await client.post(
        "/api/desk/tickets/tkt_missing/assign",
        headers=tokens.headers("sup", "supervisor"),
        json={"expert": "ana"},
    )
    assert missing.status == 404


async def test_expert_profiles_are_validated(client: Client, tokens: TokenFactory) -> None:
    """Bad profiles get problem documents: shape 422, catalogue 409, role 403, unknown 404."""
    sup = tokens.headers("sup", "supervisor")
    base = {"identity": "ana", "name": "Ana", "skills": ["infusion_pump"], "languages": ["en"]}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**base, "skills": ["toaster"]}, 409, "profile_rejected"),
        ({**base, "languages": ["tlh"]}, 409, "profile_rejected"),
        ({**base, "timezone": "Mars/Olympus"}, 409, "profile_rejected"),
        ({**base, "capacity": 0}, 422, "invalid_input"),
        ({**base, "languages": []}, 422, "invalid_input"),
        ({**base, "working_hours": [{"day": 7, "start": "09:00", "end": "17:00"}]}, 422, ""),
        ({**base, "working_hours": [{"day": 1, "start": "17:00", "end": "09:00"}]}, 409, ""),
        ({**base, "on_call": [{"start": "2026-11-23T20:00:00", "end": "x"}]}, 422, ""),
        ({**base, "surprise": 1}, 422, "invalid_input"),
    ]
    for body, status, code in cases:
        response = await client.post("/api/desk/experts", headers=sup, json=body)
        assert response.status == status, (body, await response.text())
        problem = await response.json()
        assert response.content_type == "application/problem+json"
        assert not code or problem["code"] == code, problem
    forbidden = await client.post(
        "/api/desk/experts", headers=tokens.headers("ana", "expert"), json=base
    )
    assert forbidden.status == 403
    assert (await client.post("/api/desk/experts", headers=sup, json=base)).status == 201
    update = {k: v for k, v in base.items() if k != "identity"}
    changed = await client.put("/api/desk/experts/ana", headers=sup, json={**update, "capacity": 4})
    assert changed.status == 200
    assert (await changed.json())["capacity"] == 4
    assert (await client.put("/api/desk/experts/bob", headers=sup, json=update)).status == 404
    assert (await client.delete("/api/desk/experts/ana", headers=sup)).status == 204
    assert (await client.delete("/api/desk/experts/ana", headers=sup)).status == 404
