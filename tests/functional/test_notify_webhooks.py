"""Webhooks against a real local aiohttp receiver: signature, retries, timeout, dead letters."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from sessions.clock import ManualClock
from sessions.exceptions import AuthenticationError
from sessions.servicedesk.endpoints import make_endpoint
from sessions.servicedesk.outbox import Channel, MessageStatus, RetryPolicy
from sessions.servicedesk.outbox_repo import OutboxRepository
from sessions.store import Store
from signaling.notify.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, verify
from signaling.notify.webhooks import WebhookTransport
from signaling.notify.worker import OutboxWorker

pytestmark = pytest.mark.servicedesk

T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
SECRET = "whsec-0123456789abcdef"
NO_JITTER = RetryPolicy(max_attempts=3, base_delay=timedelta(seconds=10), jitter=0.0)
ServerFactory = Callable[..., Awaitable[TestServer]]


class Receiver:
    """A webhook receiver that verifies signatures and answers from a script."""

    def __init__(self, clock: ManualClock, answers: list[int], hang: float = 0.0) -> None:
        self.clock = clock
        self.answers = answers
        self.hang = hang
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        """Record, verify, then answer with the next scripted status."""
        body = await request.read()
        self.headers.append(dict(request.headers))
        try:
            verify(
                SECRET, request.headers[SIGNATURE_HEADER], body, int(self.clock.now().timestamp())
            )
        except (AuthenticationError, KeyError):
            return web.Response(status=401)
        self.received.append(json.loads(body))
        self.arrived.set()
        if self.hang:
            await asyncio.sleep(self.hang)
        return web.Response(status=self.answers.pop(0) if self.answers else 200)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A migrated SQLite store."""
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'hooks.db'}")
    await store.migrate()
    yield store
    await store.close()


async def setup(
    store: Store,
    aiohttp_server: ServerFactory,
    receiver: Receiver,
    retry: RetryPolicy = NO_JITTER,
    attempt_timeout: float = 5.0,
) -> tuple[OutboxRepository, OutboxWorker]:
    """Start the receiver, register it for ticket events, build a worker."""
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    server = await aiohttp_server(app)
    outbox = OutboxRepository(store.sessionmaker)
    endpoint = make_endpoint(str(server.make_url("/hook")), ["ticket.*"], secret=SECRET)
    await outbox.add_endpoint(endpoint, T0)
    transport = WebhookTransport(outbox.get_endpoint, receiver.clock, timeout=attempt_timeout)
    worker = OutboxWorker(outbox, {Channel.WEBHOOK: transport}, receiver.clock, retry)
    return outbox, worker


async def test_signed_delivery_reaches_subscribers_only(
    store: Store, aiohttp_server: ServerFactory
) -> None:
    """The receiver verifies the HMAC; unsubscribed events are not even queued."""
    clock = ManualClock(T0)
    receiver = Receiver(clock, [])
    outbox, worker = await setup(store, aiohttp_server, receiver)
    [message_id] = await outbox.publish("ticket.escalated", {"ticket_id": "tkt_1"}, T0)
    assert await outbox.publish("recording.ready", {"recording_id": "rec_1"}, T0) == []
    report = await worker.run_once()
    await worker.close()
    assert report.delivered == 1
    [document] = receiver.received
    assert document["id"] == message_id
    assert document["type"] == "ticket.escalated"
    assert document["data"] == {"ticket_id": "tkt_1"}
    assert receiver.headers[0][EVENT_HEADER] == "ticket.escalated"
    assert receiver.headers[0][DELIVERY_HEADER] == message_id
    assert (await outbox.get(message_id)).status is MessageStatus.DELIVERED


async def test_tampered_body_fails_verification() -> None:
    """A signature made with another secret or over another body is refused."""
    from signaling.notify.signing import sign

    header = sign(SECRET, b'{"a":1}', 1000)
    assert verify(SECRET, header, b'{"a":1}', 1000) == 1000
    with pytest.raises(AuthenticationError, match="does not match"):
        verify(SECRET, header, b'{"a":2}', 1000)
    with pytest.raises(AuthenticationError, match="does not match"):
        verify("another-secret-0123456", header, b'{"a":1}', 1000)
    with pytest.raises(AuthenticationError, match="tolerance"):
        verify(SECRET, header, b'{"a":1}', 1000 + 301)
    with pytest.raises(AuthenticationError, match="malformed"):
        verify(SECRET, "v1=abc", b"", 1000)


async def test_retries_on_500_with_exponential_backoff(
    store: Store, aiohttp_server: ServerFactory
) -> None:
    """500, 500, then 200: retried after 10 s, then 20 s, then delivered."""
    clock = ManualClock(T0)
    receiver = Receiver(clock, [500, 500, 200])
    outbox, worker = await setup(store, aiohttp_server, receiver)
    [message_id] = await outbox.publish("ticket.sla_breached", {"ticket_id": "tkt_2"}, T0)
    assert (await worker.run_once()).retried == 1
    assert (await outbox.get(message_id)).next_attempt_at == T0 + timedelta(seconds=10)
    assert (await worker.run_once()).attempted == 0  # not due yet
    clock.set(T0 + timedelta(seconds=10))
    assert (await worker.run_once()).retried == 1
    assert (await outbox.get(message_id)).next_attempt_at == T0 + timedelta(seconds=30)
    clock.set(T0 + timedelta(seconds=30))
    assert (await worker.run_once()).delivered == 1
    await worker.close()
    assert len(receiver.received) == 3
    assert {r["id"] for r in receiver.received} == {message_id}  # same delivery id each time
    message = await outbox.get(message_id)
    assert message.attempts == 3
    assert [e.split(" from ")[0] for e in message.errors] == ["HTTP 500", "HTTP 500"]


async def test_hanging_receiver_times_out_and_others_still_flow(
    store: Store, aiohttp_server: ServerFactory
) -> None:
    """An attempt that hangs is cut at the timeout and retried; the loop is never stuck."""
    clock = ManualClock(T0)
    receiver = Receiver(clock, [], hang=30.0)
    outbox, worker = await setup(store, aiohttp_server, receiver, attempt_timeout=0.3)
    [message_id] = await outbox.publish("ticket.escalated", {"ticket_id": "tkt_3"}, T0)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    beat = asyncio.create_task(ticker())
    async with asyncio.timeout(10):  # a guard: an unbounded attempt would hang for 30 s
        report = await worker.run_once()
    beat.cancel()
    await worker.close()
    assert report.retried == 1
    assert ticks > 5  # the event loop kept running while the receiver hung
    message = await outbox.get(message_id)
    assert message.status is MessageStatus.PENDING
    assert "no answer within 0.3 s" in message.last_error


async def test_dead_letter_after_last_try_and_redrive(
    store: Store, aiohttp_server: ServerFactory
) -> None:
    """Three failures with max_attempts=3: dead, listed with every error; redrive revives."""
    clock = ManualClock(T0)
    receiver = Receiver(clock, [500] * 3)
    outbox, worker = await setup(store, aiohttp_server, receiver)
    [message_id] = await outbox.publish("ticket.escalated", {"ticket_id": "tkt_4"}, T0)
    outcomes = []
    for _ in range(3):
        outcomes.append(await worker.run_once())
        clock.set(clock.now() + timedelta(minutes=5))
    assert [(r.retried, r.dead) for r in outcomes] == [(1, 0), (1, 0), (0, 1)]
    [dead] = await outbox.dead_letters()
    assert dead.id == message_id
    assert dead.status is MessageStatus.DEAD
    assert len(dead.errors) == 3
    assert (await worker.run_once()).attempted == 0  # dead messages are left alone
    await outbox.redrive(message_id, clock.now())
    assert (await worker.run_once()).delivered == 1
    await worker.close()
    assert await outbox.dead_letters() == []


async def test_client_error_is_dead_at_once(store: Store, aiohttp_server: ServerFactory) -> None:
    """410 Gone means the receiver will never take it: no retries."""
    clock = ManualClock(T0)
    receiver = Receiver(clock, [410])
    outbox, worker = await setup(store, aiohttp_server, receiver)
    await outbox.publish("ticket.escalated", {"ticket_id": "tkt_5"}, T0)
    assert (await worker.run_once()).dead == 1
    await worker.close()
    [dead] = await outbox.dead_letters()
    assert "HTTP 410" in dead.last_error


async def test_queued_events_survive_a_restart(store: Store, aiohttp_server: ServerFactory) -> None:
    """Queued before a restart, delivered after it by a new worker on a reopened store."""
    clock = ManualClock(T0)
    receiver = Receiver(clock, [])
    outbox, worker = await setup(store, aiohttp_server, receiver)
    await outbox.publish("ticket.escalated", {"ticket_id": "tkt_6"}, T0)
    await worker.close()
    await store.close()
    reopened = await Store.open(store.url)
    try:
        outbox = OutboxRepository(reopened.sessionmaker)
        transport = WebhookTransport(outbox.get_endpoint, clock)
        worker = OutboxWorker(
            outbox, {Channel.WEBHOOK: transport}, clock, NO_JITTER, poll_interval=0.02
        )
        await worker.start()
        await asyncio.wait_for(receiver.arrived.wait(), 10)
        await worker.close()
        await worker.close()  # idempotent
    finally:
        await reopened.close()
    assert receiver.received[0]["data"] == {"ticket_id": "tkt_6"}
