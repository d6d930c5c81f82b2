"""The ticket API over HTTP: lifecycle, SLA on the wire, and every kind of bad input."""

from __future__ import annotations

import io
import json
import time
from datetime import timedelta
from typing import Any

import jwt
import pytest
from aiohttp.test_utils import TestClient

from sessions.clock import ManualClock
from tests.app_fixtures import TEST_SECRET, TokenFactory

Client = TestClient[Any, Any]

NEW_TICKET = {
    "kind": "device_fault",
    "tier": "urgent",
    "title": "Treadmill belt stops under load",
    "device": {"model": "GaitTrainer X", "serial": "GT-99812"},
    "language": "en",
}


async def _create(client: Client, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/tickets", json={**NEW_TICKET, **overrides}, headers=headers)
    assert response.status == 201, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def test_create_get_and_sla_deadlines(client: Client, tokens: TokenFactory) -> None:
    headers = tokens.headers("tech-1", "technician")
    created = await _create(client, headers)
    assert created["status"] == "open"
    assert created["requester"] == "tech-1"
    # urgent: first response within one wall-clock hour of opening
    assert created["sla"]["response"]["due_at"].startswith("2026-11-23T10:00")
    assert created["sla_state"] == "on_track"
    fetched = await client.get(f"/api/tickets/{created['id']}", headers=headers)
    assert fetched.status == 200
    assert (await fetched.json())["device"] == NEW_TICKET["device"]


async def test_sla_state_moves_with_the_clock(
    client: Client, tokens: TokenFactory, clock: ManualClock
) -> None:
    headers = tokens.headers("expert-1", "expert")
    created = await _create(client, headers)
    clock.set(clock.now() + timedelta(minutes=50))
    at_risk = await (await client.get(f"/api/tickets/{created['id']}", headers=headers)).json()
    assert at_risk["sla"]["response"]["state"] == "at_risk"
    clock.set(clock.now() + timedelta(minutes=20))
    late = await (await client.get(f"/api/tickets/{created['id']}", headers=headers)).json()
    assert late["sla"]["response"]["state"] == "breached"
    assert late["sla_state"] == "breached"


async def test_transition_records_timeline_and_refuses_bad_moves(
    client: Client, tokens: TokenFactory
) -> None:
    expert = tokens.headers("expert-1", "expert")
    ticket = await _create(client, expert)
    url = f"/api/tickets/{ticket['id']}"
    moved = await client.post(f"{url}/transition", json={"status": "assigned"}, headers=expert)
    assert moved.status == 200
    assert (await moved.json())["first_response_at"] is not None
    refused = await client.post(f"{url}/transition", json={"status": "closed"}, headers=expert)
    assert refused.status == 409
    problem = await refused.json()
    assert problem["code"] == "invalid_transition"
    assert "assigned" in problem["detail"]
    assert problem["current"] == "assigned"
    timeline = await (await client.get(f"{url}/timeline", headers=expert)).json()
    assert [e["action"] for e in timeline] == ["created", "status_changed"]
    assert timeline[1]["actor"] == "expert-1"


async def test_update_with_stale_version_conflicts_and_changes_nothing(
    client: Client, tokens: TokenFactory
) -> None:
    expert = tokens.headers("expert-1", "expert")
    ticket = await _create(client, expert)
    url = f"/api/tickets/{ticket['id']}"
    ok = await client.patch(
        url, json={"title": "Belt stops at 6 km/h", "expected_version": 1}, headers=expert
    )
    assert ok.status == 200
    stale = await client.patch(url, json={"title": "other", "expected_version": 1}, headers=expert)
    assert stale.status == 409
    assert (await stale.json())["code"] == "conflict"
    current = await (await client.get(url, headers=expert)).json()
    assert current["title"] == "Belt stops at 6 km/h"


async def test_list_filters_and_paginates(client: Client, tokens: TokenFactory) -> None:
    expert = tokens.headers("expert-1", "expert")
    for index in range(5):
        await _create(
            client, expert, tier="routine" if index % 2 else "urgent", title=f"ticket {index}"
        )
    page = await (await client.get("/api/tickets?limit=2&tier=urgent", headers=expert)).json()
    assert len(page["items"]) == 2
    assert all(t["tier"] == "urgent" for t in page["items"])
    rest = await (
        await client.get(
            f"/api/tickets?limit=2&tier=urgent&cursor={page['next_cursor']}", headers=expert
        )
    ).json()
    assert len(rest["items"]) == 1
    assert rest["next_cursor"] is None
    seen = {t["id"] for t in page["items"]} | {t["id"] for t in rest["items"]}
    assert len(seen) == 3


async def test_clients_only_see_their_own_tickets(client: Client, tokens: TokenFactory) -> None:
    mine = await _create(client, tokens.headers("patient-a", "patient"), kind="guided_exercise")
    theirs = await _create(client, tokens.headers("patient-b", "patient"))
    listing = await (
        await client.get("/api/tickets", headers=tokens.headers("patient-a", "patient"))
    ).json()
    assert [t["id"] for t in listing["items"]] == [mine["id"]]
    hidden = await client.get(
        f"/api/tickets/{theirs['id']}", headers=tokens.headers("patient-a", "patient")
    )
    assert hidden.status == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "invalid_input"),
        (b'{"kind": "device_fault", "tier": 3, "title": "x"}', "invalid_input"),
        (
            b'{"kind": "device_fault", "tier": "urgent", "title": "x", "colour": "red"}',
            "invalid_input",
        ),
        (b'{"kind": "toaster", "tier": "urgent", "title": "x"}', "invalid_input"),
        (b"[]", "invalid_input"),
        (b"", "invalid_input"),
    ],
)
async def test_bad_bodies_get_problem_documents_and_write_nothing(
    client: Client, tokens: TokenFactory, body: bytes, code: str
) -> None:
    headers = {**tokens.headers("expert-1", "expert"), "Content-Type": "application/json"}
    response = await client.post("/api/tickets", data=body, headers=headers)
    assert response.status in {400, 422}
    assert response.content_type == "application/problem+json"
    assert (await response.json())["code"] == code
    listing = await (await client.get("/api/tickets", headers=headers)).json()
    assert listing["items"] == []


async def test_body_over_one_mebibyte_is_refused(client: Client, tokens: TokenFactory) -> None:
    headers = {**tokens.headers("expert-1", "expert"), "Content-Type": "application/json"}
    huge = json.dumps({**NEW_TICKET, "description": "x" * (1024 * 1024 + 10)}).encode()
    response = await client.post("/api/tickets", data=io.BytesIO(huge), headers=headers)
    assert response.status == 413
    assert response.content_type == "application/problem+json"


def _forge(claims: dict[str, Any], secret: str = TEST_SECRET, alg: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=alg)


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": "expert-1",
        "role": "expert",
        "iss": "teleguide",
        "aud": "teleguide",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        **overrides,
    }


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-jwt",
        f"Bearer {_forge(_claims(), secret='another-secret-another-secret-0123456789')}",
        f"Bearer {_forge(_claims(exp=int(time.time()) - 3600))}",
        f"Bearer {_forge(_claims(aud='someone-else'))}",
        f"Bearer {_forge(_claims(iss='evil'))}",
        f"Bearer {_forge(_claims(role='overlord'))}",
        "Bearer " + jwt.encode(_claims(), key="", algorithm="none"),
    ],
    ids=[
        "missing",
        "empty",
        "basic",
        "garbage",
        "tampered",
        "expired",
        "audience",
        "issuer",
        "role",
        "alg-none",
    ],
)
async def test_bad_tokens_are_401(client: Client, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await client.get("/api/tickets", headers=headers)
    assert response.status == 401
    assert response.content_type == "application/problem+json"
    assert (await response.json())["code"] == "unauthenticated"


async def test_health_ready_metrics_and_request_id(client: Client) -> None:
    health = await client.get("/healthz", headers={"X-Request-Id": "trace-me"})
    assert health.status == 200
    assert health.headers["X-Request-Id"] == "trace-me"
    ready = await client.get("/readyz")
    assert (await ready.json())["checks"] == {"store": "ok"}
    metrics = await (await client.get("/metrics")).text()
    assert 'teleguide_http_requests_total{method="GET",route="/healthz",status="200"}' in metrics


async def test_openapi_describes_every_route(client: Client) -> None:
    document = await (await client.get("/api/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    assert "post" in document["paths"]["/api/tickets"]
    create = document["paths"]["/api/tickets"]["post"]
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert schema["additionalProperties"] is False
