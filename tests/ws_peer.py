"""A signaling connection driven by hand in functional tests: commands, replies, events."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import ClientWebSocketResponse
from aiohttp.test_utils import TestClient

REPLY_TIMEOUT_S = 10.0


class WsPeer:
    """One /ws connection; server events read while waiting for a reply are kept aside."""

    def __init__(self, ws: ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 1
        self.events: list[dict[str, Any]] = []

    async def call(self, type_: str, **fields: Any) -> dict[str, Any]:
        """Send a command with the next id and return its reply."""
        message_id = self.next_id
        self.next_id += 1
        return await self.raw({"id": message_id, "type": type_, **fields})

    async def raw(self, message: Any) -> dict[str, Any]:
        """Send anything (an object or text) and return the next reply (a message with ``ok``)."""
        await self.ws.send_str(message if isinstance(message, str) else json.dumps(message))
        while True:
            received = await self.ws.receive_json(timeout=REPLY_TIMEOUT_S)
            if "ok" in received:
                return dict(received)
            self.events.append(received)

    async def event(self, type_: str, **match: Any) -> dict[str, Any]:
        """The next server event of a type whose fields match (set-aside events first)."""

        def wanted(event: dict[str, Any]) -> bool:
            return event.get("type") == type_ and all(event.get(k) == v for k, v in match.items())

        for index, event in enumerate(self.events):
            if wanted(event):
                return self.events.pop(index)
        while True:
            received = await self.ws.receive_json(timeout=REPLY_TIMEOUT_S)
            if wanted(received):
                return dict(received)
            self.events.append(received)

    async def next_event(self) -> dict[str, Any]:
        """The next server event, in arrival order."""
        if self.events:
            return self.events.pop(0)
        received = await self.ws.receive_json(timeout=REPLY_TIMEOUT_S)
        assert "ok" not in received, f"unexpected reply {received}"
        return dict(received)


async def connect_peer(client: TestClient[Any, Any], token: str) -> WsPeer:
    """Open /ws and authenticate; fails the test unless the server says auth_ok."""
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "auth", "token": token})
    reply = await ws.receive_json(timeout=REPLY_TIMEOUT_S)
    assert reply["type"] == "auth_ok", reply
    return WsPeer(ws)
