"""Node restart: SLA breaches that fell due while the node was down are acted on once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from sessions.clock import ManualClock
from signaling.app import create_app
from signaling.config import Settings
from tests.app_fixtures import AiohttpClient, TokenFactory
from tests.functional.test_servicedesk_api import open_ticket

pytestmark = pytest.mark.servicedesk

Client = TestClient[Any, Any]


async def _timeline(client: Client, tokens: TokenFactory, ticket_id: str) -> list[str]:
    response = await client.get(
        f"/api/tickets/{ticket_id}/timeline", headers=tokens.headers("sup", "supervisor")
    )
    assert response.status == 200
    return [
        f"{e['action']}:{e['data'].get('clock', e['data'].get('to', ''))}"
        for e in await response.json()
    ]


async def test_breaches_due_while_down_escalate_once_after_restart(
    settings: Settings,
    clock: ManualClock,
    tokens: TokenFactory,
    aiohttp_client: AiohttpClient,
) -> None:
    """Clocks set, node stopped, time moved on, node started on the same data: one escalation."""
    first = await aiohttp_client(create_app(settings, clock))
    ticket = await open_ticket(first, tokens)  # urgent: first response due within 1 h
    await first.close()

    clock.set(clock.now() + timedelta(hours=3))
    second = await aiohttp_client(create_app(settings, clock))
    stored = await second.get(
        f"/api/tickets/{ticket['id']}", headers=tokens.headers("sup", "supervisor")
    )
    assert (await stored.json())["status"] == "escalated"
    after_restart = await _timeline(second, tokens, ticket["id"])
    breaches = [e for e in after_restart if e.startswith("sla_breached")]
    assert breaches == ["sla_breached:response"]
    # Found already breached: the stale at-risk notice is skipped.
    assert not [e for e in after_restart if e.startswith("sla_at_risk")]
    assert after_restart.count("status_changed:escalated") == 1
    await second.close()

    third = await aiohttp_client(create_app(settings, clock))
    assert await _timeline(third, tokens, ticket["id"]) == after_restart
    await third.close()
