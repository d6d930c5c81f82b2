"""The product target of ``teleguide bench annotations`` (the default).

Starts the real signaling application in this process (SQLite in a temporary directory),
opens a ticket and a session through the HTTP API, and connects participants through
``/ws`` with the protocol's auth and join phases, so the figures cover the product's own
command dispatch, grants, rate limits and send queues.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import aiohttp
from aiohttp import web

from annotations.bench import Connect, Target


async def start_product() -> Target:
    """Start the signaling app on a free loopback port with one live session."""
    from sessions.grants import Role
    from signaling.app import create_app
    from signaling.config import Settings
    from signaling.keys import SERVICES_KEY

    data_dir = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="teleguide-bench-"))
    settings = Settings(data_dir=data_dir / "data", jwt_secret=secrets.token_urlsafe(48))
    app = create_app(settings)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    issuer = app[SERVICES_KEY].issuer

    def token(n: int) -> str:
        return issuer.mint(f"bench-expert-{n}", Role.EXPERT)

    session_id = await _open_session(base, token(0))

    async def close() -> None:
        await runner.cleanup()
        await asyncio.to_thread(shutil.rmtree, data_dir, True)

    connect = _product_connect(base.replace("http", "ws") + "/ws", session_id, token)
    return Target(connect=connect, close=close)


async def _open_session(base: str, token: str) -> str:
    """Open a ticket and start a remote-diagnosis session on it; return the session id."""
    headers = {"Authorization": f"Bearer {token}"}
    ticket = {
        "kind": "device_fault",
        "tier": "routine",
        "title": "annotation benchmark",
        "requester": "bench-clinic",
    }
    async with aiohttp.ClientSession(base, headers=headers) as http:
        async with http.post("/api/tickets", json=ticket) as response:
            response.raise_for_status()
            ticket_id = (await response.json())["id"]
        body = {"kind": "remote_diagnosis"}
        async with http.post(f"/api/tickets/{ticket_id}/sessions", json=body) as response:
            response.raise_for_status()
            return str((await response.json())["id"])


def _product_connect(url: str, session_id: str, token: Callable[[int], str]) -> Connect:
    """Connect through /ws: auth with a token, then join the session (command id 1)."""

    async def connect(session: aiohttp.ClientSession, n: int) -> aiohttp.ClientWebSocketResponse:
        ws = await session.ws_connect(url, max_msg_size=0)
        await ws.send_json({"type": "auth", "token": token(n)})
        auth = await ws.receive_json(timeout=10)
        if auth.get("type") != "auth_ok":
            raise RuntimeError(f"benchmark participant {n} was refused: {auth}")
        await ws.send_json({"id": 1, "type": "join", "session_id": session_id})
        while (reply := await ws.receive_json(timeout=10)).get("id") != 1:
            pass  # server events before the join reply
        if not reply.get("ok"):
            raise RuntimeError(f"benchmark participant {n} could not join: {reply}")
        return ws

    return connect
