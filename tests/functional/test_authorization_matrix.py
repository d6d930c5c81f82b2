"""Role x route authorization matrix of the ticket and session API.

Every cell is a real request; the expected status says what the role may do. Tickets that a
role may not see answer 404, so their ids cannot be probed.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.app_fixtures import TokenFactory

Client = TestClient[Any, Any]

ROLES = ["patient", "technician", "expert", "trainer", "supervisor", "admin"]
#: The ticket under test was opened by "owner" for patient "owner"; the caller is "<role>-1",
#: except in the *_own routes where the caller is the owner with that role.


async def _ticket(client: Client, tokens: TokenFactory, requester: str) -> str:
    headers = tokens.headers("admin-0", "admin")
    response = await client.post(
        "/api/tickets",
        headers=headers,
        json={
            "kind": "guided_exercise",
            "tier": "routine",
            "title": "matrix",
            "requester": requester,
            "patient": requester,
        },
    )
    assert response.status == 201
    return str((await response.json())["id"])


def _expect(role: str, staff: int, client_role: int, **overrides: int) -> int:
    if role in overrides:
        return overrides[role]
    return staff if role in {"expert", "trainer", "supervisor", "admin"} else client_role


ROUTES: list[tuple[str, str, str, dict[str, Any] | None, dict[str, int]]] = [
    # name, method, path template, body, {role: status}
    ("list", "GET", "/api/tickets", None, dict.fromkeys(ROLES, 200)),
    ("get_foreign", "GET", "/api/tickets/{tid}", None, {r: _expect(r, 200, 404) for r in ROLES}),
    (
        "timeline_foreign",
        "GET",
        "/api/tickets/{tid}/timeline",
        None,
        {r: _expect(r, 200, 404) for r in ROLES},
    ),
    (
        "update_foreign",
        "PATCH",
        "/api/tickets/{tid}",
        {"title": "changed"},
        {r: _expect(r, 200, 404) for r in ROLES},
    ),
    (
        "assign_other",
        "PATCH",
        "/api/tickets/{tid}",
        {"assignee": "someone-else"},
        {r: _expect(r, 403, 404, supervisor=200, admin=200) for r in ROLES},
    ),
    (
        "transition_foreign",
        "POST",
        "/api/tickets/{tid}/transition",
        {"status": "assigned"},
        {r: _expect(r, 200, 404) for r in ROLES},
    ),
    (
        "session_foreign",
        "POST",
        "/api/tickets/{tid}/sessions",
        {"kind": "guided_exercise"},
        {r: _expect(r, 201, 404) for r in ROLES},
    ),
    (
        "create_for_other",
        "POST",
        "/api/tickets",
        {"kind": "device_fault", "tier": "urgent", "title": "x", "requester": "somebody"},
        {r: _expect(r, 201, 403) for r in ROLES},
    ),
]

OWN_ROUTES: list[tuple[str, str, str, dict[str, Any] | None, dict[str, int]]] = [
    ("get_own", "GET", "/api/tickets/{tid}", None, dict.fromkeys(ROLES, 200)),
    (
        "update_own",
        "PATCH",
        "/api/tickets/{tid}",
        {"title": "mine"},
        {r: _expect(r, 200, 403) for r in ROLES},
    ),
    (
        "cancel_own",
        "POST",
        "/api/tickets/{tid}/transition",
        {"status": "cancelled"},
        dict.fromkeys(ROLES, 200),
    ),
    (
        "escalate_own",
        "POST",
        "/api/tickets/{tid}/transition",
        {"status": "escalated"},
        {r: _expect(r, 200, 403) for r in ROLES},
    ),
    (
        "session_own",
        "POST",
        "/api/tickets/{tid}/sessions",
        {"kind": "guided_exercise"},
        dict.fromkeys(ROLES, 201),
    ),
]


def _cases(routes: list[tuple[str, str, str, dict[str, Any] | None, dict[str, int]]]) -> Any:
    return [
        pytest.param(role, method, path, body, expected[role], id=f"{name}-{role}")
        for name, method, path, body, expected in routes
        for role in ROLES
    ]


@pytest.mark.parametrize(("role", "method", "path", "body", "status"), _cases(ROUTES))
async def test_foreign_ticket_routes(
    client: Client,
    tokens: TokenFactory,
    role: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
) -> None:
    ticket_id = await _ticket(client, tokens, requester="owner")
    response = await client.request(
        method, path.format(tid=ticket_id), json=body, headers=tokens.headers(f"{role}-1", role)
    )
    assert response.status == status, await response.text()
    if status >= 400:
        assert response.content_type == "application/problem+json"
        history = await client.get(
            f"/api/tickets/{ticket_id}/timeline", headers=tokens.headers("admin-0", "admin")
        )
        assert [e["action"] for e in await history.json()] == ["created"], "half-written"


@pytest.mark.parametrize(("role", "method", "path", "body", "status"), _cases(OWN_ROUTES))
async def test_own_ticket_routes(
    client: Client,
    tokens: TokenFactory,
    role: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
) -> None:
    owner = f"{role}-owner"
    ticket_id = await _ticket(client, tokens, requester=owner)
    response = await client.request(
        method, path.format(tid=ticket_id), json=body, headers=tokens.headers(owner, role)
    )
    assert response.status == status, await response.text()


async def test_ending_sessions_needs_staff_with_moderation(
    client: Client, tokens: TokenFactory
) -> None:
    ticket_id = await _ticket(client, tokens, requester="patient-1")
    created = await client.post(
        f"/api/tickets/{ticket_id}/sessions",
        headers=tokens.headers("patient-1", "patient"),
        json={"kind": "guided_exercise"},
    )
    session_id = (await created.json())["id"]
    refused = await client.post(
        f"/api/sessions/{session_id}/end", headers=tokens.headers("patient-1", "patient")
    )
    assert refused.status == 403
    ended = await client.post(
        f"/api/sessions/{session_id}/end", headers=tokens.headers("trainer-1", "trainer")
    )
    assert ended.status == 200
    assert (await ended.json())["state"] == "closed"
