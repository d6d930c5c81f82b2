"""Two nodes on one store and one Redis: one runs the desk, experts may use either."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from sessions.clock import ManualClock
from signaling.app import create_app
from signaling.config import Settings
from signaling.desk_node import RedisLock, desk_node
from signaling.keys import SERVICES_KEY
from tests.app_fixtures import TEST_SECRET, AiohttpClient, TokenFactory
from tests.functional.test_servicedesk_api import open_ticket, register_expert
from tests.ws_peer import connect_peer

pytestmark = [pytest.mark.servicedesk, pytest.mark.redis]

Client = TestClient[Any, Any]


def _node_app(
    tmp_path: Path, name: str, redis_url: str, lock_key: str, clock: ManualClock
) -> web.Application:
    settings = Settings(
        data_dir=tmp_path / name,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'shared.sqlite3'}",
        redis_url=redis_url,
        node_id=name,
        jwt_secret=TEST_SECRET,
    )
    app = create_app(settings, clock)
    # A key of this test's own, so concurrent test runs on the same Redis do not contend.
    desk_node(app[SERVICES_KEY]).lock = RedisLock(redis_url, name, key=lock_key)
    return app


async def test_expert_on_the_other_node_gets_and_accepts_offers(
    tmp_path: Path,
    redis_url: str,
    clock: ManualClock,
    tokens: TokenFactory,
    aiohttp_client: AiohttpClient,
) -> None:
    """Presence and answers travel to the desk's node; offers travel back."""
    run = uuid.uuid4().hex[:8]
    key = f"teleguide:test:desk:{run}"
    leader = await aiohttp_client(_node_app(tmp_path, f"a-{run}", redis_url, key, clock))
    follower = await aiohttp_client(_node_app(tmp_path, f"b-{run}", redis_url, key, clock))

    sup = tokens.headers("sup", "supervisor")
    queue = await follower.get("/api/desk/queue", headers=sup)
    assert queue.status == 409
    assert (await queue.json())["code"] == "desk_elsewhere"
    await register_expert(leader, tokens, "ana", ["infusion_pump"])

    ana = await connect_peer(follower, tokens("ana", "expert"))
    assert (await ana.call("presence", state="online"))["ok"]
    ticket = await open_ticket(follower, tokens)
    offer = await ana.event("offer_made", ticket_id=ticket["id"])
    reply = await ana.call("offer_accept", offer_id=offer["offer_id"])
    assert reply["ok"], reply
    assert reply["assignee"] == "ana"
    await ana.event("ticket_assigned", ticket_id=ticket["id"])
    again = await ana.call("offer_accept", offer_id=offer["offer_id"])
    assert again["error"]["code"] == "invalid_state"
    stored = await leader.get(f"/api/tickets/{ticket['id']}", headers=sup)
    assert (await stored.json())["status"] == "assigned"
    await ana.ws.close()
