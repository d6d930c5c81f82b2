"""Which node a live room lives on, so a participant who reaches another node is sent there.

A room lives on the node that created it (as in LiveKit). One node: an in-process map. Several
nodes: Redis keys with a time-to-live that the owner refreshes, so the rooms of a node that
died disappear from the registry by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

KEY_PREFIX = "teleguide:room:"


@dataclass(frozen=True, slots=True)
class RoomLocation:
    """Where a room lives."""

    node: str
    """Node id."""
    url: str
    """Public URL of that node (clients reconnect their WebSocket there)."""


class RoomRegistry(Protocol):
    """Claims and finds rooms."""

    async def claim(self, session_id: str, location: RoomLocation) -> None:
        """Record that the room lives at ``location``."""
        ...

    async def locate(self, session_id: str) -> RoomLocation | None:
        """Where the room lives, if anywhere."""
        ...

    async def release(self, session_id: str) -> None:
        """Forget the room (it ended)."""
        ...

    async def start(self) -> None:
        """Connect and start refreshing claims."""
        ...

    async def close(self) -> None:
        """Release every claim of this node and disconnect."""
        ...


class InProcessRoomRegistry:
    """The registry of a single node."""

    def __init__(self) -> None:
        self._rooms: dict[str, RoomLocation] = {}

    async def claim(self, session_id: str, location: RoomLocation) -> None:
        """Record the room."""
        self._rooms[session_id] = location

    async def locate(self, session_id: str) -> RoomLocation | None:
        """Look the room up."""
        return self._rooms.get(session_id)

    async def release(self, session_id: str) -> None:
        """Forget the room."""
        self._rooms.pop(session_id, None)

    async def start(self) -> None:
        """Nothing to connect."""

    async def close(self) -> None:
        """Forget everything."""
        self._rooms.clear()


class RedisRoomRegistry:
    """Rooms of every node in Redis, each claim expiring unless its owner refreshes it."""

    def __init__(self, url: str, ttl_s: int = 60, refresh_s: float = 20.0) -> None:
        self.url = url
        self.ttl_s = ttl_s
        self.refresh_s = refresh_s
        self._redis: Any = None
        self._mine: dict[str, RoomLocation] = {}
        self._refresher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect and keep this node's claims alive."""
        from redis import asyncio as redis_asyncio

        self._redis = redis_asyncio.from_url(self.url)
        await self._redis.ping()
        self._refresher = asyncio.create_task(self._refresh(), name="room-registry-refresh")

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            for session_id, location in list(self._mine.items()):
                try:
                    await self._write(session_id, location)
                except Exception:  # Redis hiccup: the next round tries again
                    log.warning("could not refresh the claim on %s", session_id)

    async def _write(self, session_id: str, location: RoomLocation) -> None:
        value = json.dumps({"node": location.node, "url": location.url})
        await self._redis.set(KEY_PREFIX + session_id, value, ex=self.ttl_s)

    async def claim(self, session_id: str, location: RoomLocation) -> None:
        """Record the room in Redis."""
        self._mine[session_id] = location
        await self._write(session_id, location)

    async def locate(self, session_id: str) -> RoomLocation | None:
        """Look the room up in Redis."""
        raw = await self._redis.get(KEY_PREFIX + session_id)
        if raw is None:
            return None
        body = json.loads(raw)
        return RoomLocation(node=str(body["node"]), url=str(body["url"]))

    async def release(self, session_id: str) -> None:
        """Delete the claim."""
        self._mine.pop(session_id, None)
        await self._redis.delete(KEY_PREFIX + session_id)

    async def close(self) -> None:
        """Release this node's claims, stop refreshing, disconnect."""
        if self._refresher is not None:
            self._refresher.cancel()
            await asyncio.gather(self._refresher, return_exceptions=True)
        if self._redis is None:
            return
        for session_id in list(self._mine):
            with contextlib.suppress(Exception):
                await self.release(session_id)
        await self._redis.aclose()


def create_room_registry(redis_url: str) -> RoomRegistry:
    """Redis when configured, in-process otherwise."""
    return RedisRoomRegistry(redis_url) if redis_url else InProcessRoomRegistry()
