"""The outbox worker: claims due messages, delivers them with a bounded time per attempt,
and retries with exponential backoff until a message is delivered or dead-lettered."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sessions.clock import Clock
from sessions.servicedesk.outbox import Channel, OutboxMessage, RetryPolicy
from sessions.servicedesk.outbox_repo import OutboxRepository
from signaling.notify.transport import DeliveryError, Transport

logger = logging.getLogger(__name__)


class WorkerState(StrEnum):
    """Lifecycle of the worker."""

    CREATED = "created"
    RUNNING = "running"
    CLOSED = "closed"


@dataclass(slots=True)
class PassReport:
    """What one pass did."""

    delivered: int = 0
    """Messages the receiver took."""
    retried: int = 0
    """Messages that failed and will be tried again."""
    dead: int = 0
    """Messages that failed for the last time."""

    @property
    def attempted(self) -> int:
        """Attempts made in the pass."""
        return self.delivered + self.retried + self.dead


class OutboxWorker:
    """Delivers the outbox in the background; owns (and closes) its transports."""

    def __init__(
        self,
        outbox: OutboxRepository,
        transports: Mapping[Channel, Transport],
        clock: Clock,
        retry: RetryPolicy | None = None,
        *,
        poll_interval: float = 1.0,
        batch: int = 20,
        concurrency: int = 4,
        rng: random.Random | None = None,
    ) -> None:
        self.outbox = outbox
        self.transports = dict(transports)
        self.clock = clock
        self.retry = retry or RetryPolicy()
        self.poll_interval = poll_interval
        self.batch = batch
        self.state = WorkerState.CREATED
        self._slots = asyncio.Semaphore(concurrency)
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _set_state(self, state: WorkerState) -> None:
        if state is not self.state:
            logger.info("outbox worker: %s -> %s", self.state.value, state.value)
            self.state = state

    @property
    def lease(self) -> timedelta:
        """How long a claimed message stays hidden: longer than any attempt can take."""
        return timedelta(seconds=2 * self.retry.attempt_timeout + 30)

    async def start(self) -> None:
        """Begin delivering in the background."""
        if self.state is not WorkerState.CREATED:
            return
        self._set_state(WorkerState.RUNNING)
        self._task = asyncio.create_task(self._loop(), name="outbox-worker")

    def wake(self) -> None:
        """Something was queued: look now instead of at the next poll."""
        self._wake.set()

    async def close(self) -> None:
        """Stop the loop and close the transports; idempotent. Unsent messages stay queued."""
        if self.state is WorkerState.CLOSED:
            return
        self._set_state(WorkerState.CLOSED)
        self._wake.set()
        if self._task is not None:
            # A pass in progress finishes (its attempts are bounded); cancelling it could
            # leave a claimed message waiting out its lease, or a connection mid-transaction.
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._task, self.retry.attempt_timeout + 30)
        for transport in self.transports.values():
            await transport.close()

    async def _loop(self) -> None:
        while self.state is WorkerState.RUNNING:
            try:
                report = await self.run_once()
            except Exception:
                logger.exception("outbox pass failed")
                report = PassReport()
            if report.attempted < self.batch and self.state is WorkerState.RUNNING:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
                self._wake.clear()

    async def run_once(self) -> PassReport:
        """Claim what is due and attempt each message once, a few at a time."""
        messages = await self.outbox.claim_due(self.clock.now(), self.batch, self.lease)
        outcomes = await asyncio.gather(*(self._attempt(m) for m in messages))
        report = PassReport()
        for outcome in outcomes:
            setattr(report, outcome, getattr(report, outcome) + 1)
        return report

    async def _attempt(self, message: OutboxMessage) -> str:
        async with self._slots:
            error = await self._deliver(message)
        now = self.clock.now()
        if error is None:
            await self.outbox.mark_delivered(message.id, now)
            return "delivered"
        retry_at = (
            None if error.permanent else self.retry.next_attempt(message.attempts, now, self._rng)
        )
        await self.outbox.mark_failed(message.id, str(error), retry_at)
        logger.warning("outbox %s attempt %d failed: %s", message.id, message.attempts, error)
        return "dead" if retry_at is None else "retried"

    async def _deliver(self, message: OutboxMessage) -> DeliveryError | None:
        transport = self.transports.get(message.channel)
        if transport is None:
            return DeliveryError(
                f"no transport for channel {message.channel.value}", permanent=True
            )
        try:
            # The transport bounds its own I/O; this bound also covers a stuck thread or DNS.
            async with asyncio.timeout(self.retry.attempt_timeout + 1):
                await transport.deliver(message)
        except DeliveryError as exc:
            return exc
        except TimeoutError:
            return DeliveryError(f"attempt exceeded {self.retry.attempt_timeout} s")
        return None
