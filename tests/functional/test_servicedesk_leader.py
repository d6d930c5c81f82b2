"""Only one node runs the desk: the Redis lock is exclusive, refreshed, and lapses."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from signaling.desk_node import LocalLock, RedisLock

pytestmark = [pytest.mark.servicedesk, pytest.mark.redis]


async def test_one_holder_at_a_time_and_handover_on_release(redis_url: str) -> None:
    """Two nodes contend: the first wins and keeps it; after its release the other wins."""
    key = f"teleguide:test:desk:{uuid.uuid4().hex}"
    a, b = RedisLock(redis_url, "node-a", key=key), RedisLock(redis_url, "node-b", key=key)
    try:
        assert await a.acquire()
        assert not await b.acquire()
        assert await a.acquire()  # a refresh by the holder
        await a.release()
        assert await b.acquire()
        assert not await a.acquire()
    finally:
        await a.release()
        await b.release()


async def test_a_holder_that_stops_refreshing_loses_the_lock(redis_url: str) -> None:
    """A node that died (no refresh) is replaced within one expiry."""
    key = f"teleguide:test:desk:{uuid.uuid4().hex}"
    a = RedisLock(redis_url, "node-a", ttl_s=0.3, key=key)
    b = RedisLock(redis_url, "node-b", ttl_s=0.3, key=key)
    try:
        assert await a.acquire()
        assert not await b.acquire()
        await asyncio.sleep(0.5)
        assert await b.acquire()
        assert not await a.acquire()
    finally:
        await a.release()
        await b.release()


async def test_without_redis_this_node_always_runs_the_desk() -> None:
    """A single node needs no lock."""
    lock = LocalLock()
    assert await lock.acquire()
    assert lock.refresh_s is None
