"""What the outbox worker needs from a channel: deliver one message or say why not."""

from __future__ import annotations

from typing import Protocol

from sessions.servicedesk.outbox import OutboxMessage


class DeliveryError(Exception):
    """An attempt failed; ``permanent`` means retrying cannot help (dead at once)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Transport(Protocol):
    """One outgoing channel (webhook, email)."""

    async def deliver(self, message: OutboxMessage) -> None:
        """Deliver ``message``; raise DeliveryError (or time out) on failure."""
        ...

    async def close(self) -> None:
        """Release connections; idempotent."""
        ...
