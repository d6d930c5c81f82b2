"""Fan-out of annotation events to participants through one bounded queue each.

A participant whose queue is full is dropped (its subscriber closes with reason
``overflow``) rather than allowed to slow the others: the connection layer then disconnects
it, and on reconnect it gets the current state. Publishing never awaits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from enum import StrEnum
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


class SubscriberState(StrEnum):
    """Lifecycle of a subscriber."""

    OPEN = "open"
    CLOSED = "closed"


class Subscriber(Generic[T]):
    """One participant's bounded queue of outgoing items."""

    def __init__(
        self,
        participant_id: str,
        maxsize: int = 256,
        on_close: Callable[[Subscriber[T]], None] | None = None,
    ) -> None:
        self.participant_id = participant_id
        self.state = SubscriberState.OPEN
        self.close_reason: str | None = None
        self._queue: asyncio.Queue[T | None] = asyncio.Queue(maxsize)
        self._on_close = on_close

    def offer(self, item: T) -> bool:
        """Queue ``item`` without waiting; close the subscriber if its queue is full."""
        if self.state is SubscriberState.CLOSED:
            return False
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            logger.warning("subscriber %s cannot keep up; dropping it", self.participant_id)
            self.close("overflow")
            return False
        return True

    async def get(self) -> T | None:
        """Return the next item, or None once the subscriber is closed and drained."""
        if self.state is SubscriberState.CLOSED and self._queue.empty():
            return None
        return await self._queue.get()

    def get_nowait(self) -> T | None:
        """Return the next queued item without waiting; None when none is queued (or closed)."""
        if self._queue.empty():
            return None
        return self._queue.get_nowait()

    async def __aiter__(self) -> AsyncIterator[T]:
        """Yield items until the subscriber closes."""
        while (item := await self.get()) is not None:
            yield item

    def close(self, reason: str = "closed") -> None:
        """Stop accepting items and wake the reader; idempotent."""
        if self.state is SubscriberState.CLOSED:
            return
        self.close_reason = reason
        self._set_state(SubscriberState.CLOSED)
        self._wake_reader()
        if self._on_close is not None:
            self._on_close(self)

    def _wake_reader(self) -> None:
        """Put the end marker in the queue, making room for it on overflow."""
        if self.close_reason == "overflow":
            # Items left would be stale anyway: the participant gets the state on reconnect.
            while not self._queue.empty():
                self._queue.get_nowait()
        if not self._queue.full():
            self._queue.put_nowait(None)

    def _set_state(self, state: SubscriberState) -> None:
        """Move to ``state``, logging ``old -> new``."""
        if state is self.state:
            return
        logger.debug("subscriber %s: %s -> %s", self.participant_id, self.state.value, state.value)
        self.state = state


class Fanout(Generic[T]):
    """The subscribers of one session; ``publish`` offers an item to each without waiting."""

    def __init__(self, maxsize: int = 256) -> None:
        self._maxsize = maxsize
        self._subscribers: dict[str, Subscriber[T]] = {}

    def subscribe(self, participant_id: str) -> Subscriber[T]:
        """Return a new subscriber for ``participant_id``, closing any previous one."""
        old = self._subscribers.get(participant_id)
        if old is not None:
            old.close("replaced")
        subscriber = Subscriber(participant_id, self._maxsize, on_close=self._forget)
        self._subscribers[participant_id] = subscriber
        return subscriber

    def publish(self, item: T, exclude: str | None = None) -> list[str]:
        """Offer ``item`` to every subscriber but ``exclude``; return the ids dropped as slow."""
        dropped = []
        for subscriber in list(self._subscribers.values()):
            if subscriber.participant_id != exclude and not subscriber.offer(item):
                dropped.append(subscriber.participant_id)
        return dropped

    def __len__(self) -> int:
        """Number of open subscribers."""
        return len(self._subscribers)

    def close(self) -> None:
        """Close every subscriber; idempotent."""
        for subscriber in list(self._subscribers.values()):
            subscriber.close("session_closed")

    def _forget(self, subscriber: Subscriber[T]) -> None:
        """Remove a closed subscriber, unless it was already replaced."""
        if self._subscribers.get(subscriber.participant_id) is subscriber:
            del self._subscribers[subscriber.participant_id]
