"""The notification outbox, as data: messages, their status and the retry schedule.

A notification is written to the outbox in the same place as the change that caused it,
and a worker delivers it later; so a restart loses nothing, and a slow receiver never
holds up the desk. The SQL side is in :mod:`sessions.servicedesk.outbox_repo`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    """How a message leaves."""

    WEBHOOK = "webhook"
    EMAIL = "email"


class MessageStatus(StrEnum):
    """Where a message is."""

    PENDING = "pending"
    """Waiting for its (next) attempt."""
    DELIVERED = "delivered"
    """The receiver took it."""
    DEAD = "dead"
    """Out of attempts (or refused for good): in the dead-letter list."""


@dataclass(slots=True)
class OutboxMessage:
    """One notification to deliver to one target."""

    id: str
    """``msg_...``; also sent as the delivery id so receivers can drop duplicates."""
    channel: Channel
    """Webhook or email."""
    target: str
    """Webhook endpoint id, or email address."""
    event_type: str
    """``ticket.escalated``, ``session.ended``, ``email.session_summary``, ..."""
    payload: dict[str, Any]
    """Webhook: the event data; email: ``subject``, ``text``, ``to``, ``locale``."""
    created_at: datetime
    """When it was queued."""
    next_attempt_at: datetime
    """Not before this instant (also the lease while an attempt is running)."""
    attempts: int = 0
    """Attempts started so far."""
    status: MessageStatus = MessageStatus.PENDING
    """Where it is."""
    last_error: str = ""
    """Why the last attempt failed."""
    delivered_at: datetime | None = None
    """When it was delivered."""
    errors: list[str] = field(default_factory=list)
    """Every failure, oldest first (what the dead-letter list shows)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter, a bounded number of attempts, a bounded attempt."""

    max_attempts: int = 8
    """Attempts before a message is dead."""
    base_delay: timedelta = timedelta(seconds=10)
    """Delay after the first failure."""
    max_delay: timedelta = timedelta(hours=1)
    """Delays never grow beyond this."""
    jitter: float = 0.2
    """Each delay is scaled by a random factor in ``[1 - jitter, 1 + jitter]``."""
    attempt_timeout: float = 10.0
    """Seconds one attempt may take (connect, send, answer)."""

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        """Wait after the ``attempts``-th failed attempt (1-based)."""
        raw = self.base_delay * (2 ** max(0, attempts - 1))
        capped = min(raw, self.max_delay)
        # Spread retries of many messages failed together so they do not return in a herd.
        return capped * rng.uniform(1 - self.jitter, 1 + self.jitter)

    def next_attempt(self, attempts: int, now: datetime, rng: random.Random) -> datetime | None:
        """When to try again after ``attempts`` failures, or None when the message is dead."""
        if attempts >= self.max_attempts:
            return None
        return now + self.delay(attempts, rng)
