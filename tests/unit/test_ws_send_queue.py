"""The per-connection send queue: a client that stops reading is cut off, others go on."""

from __future__ import annotations

import asyncio
from typing import Any

from signaling.ws.connection import (
    CLOSE_SLOW_CONSUMER,
    SEND_QUEUE_SIZE,
    ConnectionState,
    SignalingConnection,
)
from signaling.ws.rate import TokenBucket


class StalledSocket:
    """A WebSocket whose peer has stopped reading: every send waits forever."""

    def __init__(self) -> None:
        self.closed = False
        self.close_code: int | None = None
        self.sent: list[str] = []
        self._never = asyncio.Event()

    async def send_str(self, data: str) -> None:
        self.sent.append(data)
        await self._never.wait()

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        self.closed, self.close_code = True, code
        return True


class ReadingSocket(StalledSocket):
    """A WebSocket whose peer keeps up."""

    async def send_str(self, data: str) -> None:
        self.sent.append(data)


async def _dispatch(connection: SignalingConnection, message: dict[str, Any]) -> None:
    return None


def _connection(ws: StalledSocket) -> SignalingConnection:
    connection = SignalingConnection(ws, verifier=None, dispatch=_dispatch)  # type: ignore[arg-type]
    connection.state = ConnectionState.OPEN
    return connection


async def test_a_stalled_client_is_disconnected_and_a_reading_one_is_not() -> None:
    stalled_ws, reading_ws = StalledSocket(), ReadingSocket()
    stalled, reading = _connection(stalled_ws), _connection(reading_ws)
    writers = [asyncio.create_task(c._writer()) for c in (stalled, reading)]
    for index in range(SEND_QUEUE_SIZE + 10):  # a broadcast to both, as a room does
        stalled.send({"type": "chat", "n": index})
        reading.send({"type": "chat", "n": index})
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)
    assert stalled.dropped_for_slowness
    assert stalled_ws.close_code == CLOSE_SLOW_CONSUMER
    assert not reading.dropped_for_slowness
    assert len(reading_ws.sent) == SEND_QUEUE_SIZE + 10
    stalled.send({"type": "chat", "n": -1})  # after the cut: dropped, no error
    for writer in writers:
        writer.cancel()
    await asyncio.gather(*writers, return_exceptions=True)


def test_token_bucket_allows_bursts_then_the_rate() -> None:
    bucket = TokenBucket(rate=10.0, burst=5)
    assert all(bucket.take(now=0.0) for _ in range(5))
    assert not bucket.take(now=0.0)
    assert bucket.take(now=0.1)  # one token back after 1/rate seconds
    assert not bucket.take(now=0.1)
    assert sum(bucket.take(now=10.0) for _ in range(20)) == 5  # never more than the burst
