"""The event bus: domain events (``ticket.created``, ``session.ended``, ...) to whoever listens.

In-process by default; with Redis, every node's subscribers see every node's events (pub/sub
on one channel), which is what webhooks, presence and dashboards need once there are several
nodes. Handlers run as tasks: a slow or failing handler never delays the publisher.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sessions.ids import new_id

log = logging.getLogger(__name__)

CHANNEL = "teleguide:events"


@dataclass(frozen=True, slots=True)
class BusEvent:
    """One domain event."""

    topic: str
    """Dotted name: ``ticket.created``, ``ticket.status_changed``, ``session.ended``, ..."""
    data: dict[str, Any]
    """JSON-serialisable payload."""
    id: str = field(default_factory=lambda: new_id("evt"))
    """Unique id (webhook receivers de-duplicate on it)."""
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    """When it was published (ISO 8601, UTC)."""
    node: str = ""
    """The node that published it."""

    def to_json(self) -> str:
        """Wire form."""
        return json.dumps(
            {
                "id": self.id,
                "topic": self.topic,
                "at": self.at,
                "node": self.node,
                "data": self.data,
            },
            default=str,
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> BusEvent:
        """Parse the wire form."""
        body = json.loads(raw)
        return cls(
            topic=body["topic"],
            data=body["data"],
            id=body["id"],
            at=body["at"],
            node=body.get("node", ""),
        )


Handler = Callable[[BusEvent], Awaitable[None]]


class EventBus(Protocol):
    """Publish and subscribe."""

    async def publish(self, topic: str, data: dict[str, Any]) -> BusEvent:
        """Send an event to every subscriber whose prefix matches its topic."""
        ...

    def subscribe(self, prefix: str, handler: Handler) -> None:
        """Call ``handler`` for every event whose topic starts with ``prefix``."""
        ...

    async def start(self) -> None:
        """Connect (no-op in process)."""
        ...

    async def close(self) -> None:
        """Stop delivering and wait for running handlers."""
        ...


class _Dispatcher:
    """Runs matching handlers as tasks and keeps track of them."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[str, Handler]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def subscribe(self, prefix: str, handler: Handler) -> None:
        self._subscribers.append((prefix, handler))

    def deliver(self, event: BusEvent) -> None:
        for prefix, handler in self._subscribers:
            if event.topic.startswith(prefix):
                task = asyncio.get_running_loop().create_task(self._run(handler, event))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _run(handler: Handler, event: BusEvent) -> None:
        try:
            await handler(event)
        except Exception:
            log.exception("bus handler failed on %s", event.topic)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


class InProcessBus:
    """Delivers events to subscribers of this process only."""

    def __init__(self, node: str = "local") -> None:
        self.node = node
        self._dispatcher = _Dispatcher()

    async def publish(self, topic: str, data: dict[str, Any]) -> BusEvent:
        """Deliver to local subscribers."""
        event = BusEvent(topic, data, node=self.node)
        self._dispatcher.deliver(event)
        return event

    def subscribe(self, prefix: str, handler: Handler) -> None:
        """Add a subscriber."""
        self._dispatcher.subscribe(prefix, handler)

    async def start(self) -> None:
        """Nothing to connect."""

    async def close(self) -> None:
        """Wait for running handlers."""
        await self._dispatcher.drain()


class RedisBus:
    """Pub/sub over Redis: every node's subscribers see every node's events."""

    def __init__(self, url: str, node: str, channel: str = CHANNEL) -> None:
        self.url = url
        self.node = node
        self.channel = channel
        self._dispatcher = _Dispatcher()
        self._redis: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        """Connect and start listening."""
        from redis import asyncio as redis_asyncio

        self._redis = redis_asyncio.from_url(self.url)
        await self._redis.ping()
        self._listener = asyncio.create_task(self._listen(), name="redis-bus")
        await asyncio.wait_for(self._subscribed.wait(), 10)

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self.channel)
        self._subscribed.set()
        try:
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    self._deliver(message["data"])
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    def _deliver(self, raw: bytes) -> None:
        try:
            event = BusEvent.from_json(raw)
        except (ValueError, KeyError) as exc:
            log.warning("ignoring malformed bus message: %s", exc)
            return
        self._dispatcher.deliver(event)

    async def publish(self, topic: str, data: dict[str, Any]) -> BusEvent:
        """Publish to every node (this one included, through Redis)."""
        event = BusEvent(topic, data, node=self.node)
        await self._redis.publish(self.channel, event.to_json())
        return event

    def subscribe(self, prefix: str, handler: Handler) -> None:
        """Add a subscriber on this node."""
        self._dispatcher.subscribe(prefix, handler)

    async def close(self) -> None:
        """Stop listening, wait for handlers, disconnect."""
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        await self._dispatcher.drain()
        if self._redis is not None:
            await self._redis.aclose()


def create_bus(redis_url: str, node: str) -> EventBus:
    """Redis when configured, in-process otherwise."""
    return RedisBus(redis_url, node) if redis_url else InProcessBus(node)
