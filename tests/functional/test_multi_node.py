"""Two nodes sharing a store and Redis: a participant who reaches the wrong node is redirected."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from sessions.clock import SystemClock
from signaling.app import create_app
from signaling.client import ClientError, TeleGuideClient
from signaling.config import Settings
from tests.app_fixtures import TEST_SECRET, TokenFactory

pytestmark = [pytest.mark.redis]


@pytest.fixture
async def nodes(tmp_path: Path, redis_url: str) -> AsyncIterator[tuple[TestServer, TestServer]]:
    """Nodes a and b on one database and one Redis."""
    database = f"sqlite+aiosqlite:///{tmp_path / 'shared.sqlite3'}"
    servers = []
    for name in ("a", "b"):
        settings = Settings(
            data_dir=tmp_path / name,
            jwt_secret=TEST_SECRET,
            database_url=database,
            redis_url=redis_url,
            node_id=f"node-{name}-{uuid.uuid4().hex[:6]}",
            public_url=f"https://{name}.teleguide.test",
        )
        server = TestServer(create_app(settings, SystemClock()))
        await server.start_server()
        servers.append(server)
    yield servers[0], servers[1]
    for server in servers:
        await server.close()


async def test_join_on_the_wrong_node_names_the_right_one(
    nodes: tuple[TestServer, TestServer],
) -> None:
    node_a, node_b = nodes
    tokens = TokenFactory(node_a.app)
    headers = tokens.headers("expert-1", "expert")
    async with aiohttp.ClientSession() as http:
        ticket = await (
            await http.post(
                str(node_a.make_url("/api/tickets")),
                headers=headers,
                json={"kind": "device_fault", "tier": "urgent", "title": "two nodes"},
            )
        ).json()
        session = await (
            await http.post(
                str(node_a.make_url(f"/api/tickets/{ticket['id']}/sessions")),
                headers=headers,
                json={"kind": "remote_diagnosis"},
            )
        ).json()
        # Any node serves the API from the shared store.
        seen_from_b = await (
            await http.get(str(node_b.make_url(f"/api/sessions/{session['id']}")), headers=headers)
        ).json()
    assert seen_from_b["ticket_id"] == ticket["id"]
    url_b = str(node_b.make_url("/ws")).replace("http://", "ws://")
    async with TeleGuideClient(url_b, tokens("expert-1", "expert")) as client:
        with pytest.raises(ClientError) as refused:
            await client.join(session["id"])
    assert refused.value.code == "wrong_node"
    assert refused.value.details["url"] == "https://a.teleguide.test"
    url_a = str(node_a.make_url("/ws")).replace("http://", "ws://")
    async with TeleGuideClient(url_a, tokens("expert-1", "expert")) as client:
        joined = await client.join(session["id"])
    assert joined["session"]["id"] == session["id"]
