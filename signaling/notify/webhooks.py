"""Webhook transport: POST the event as JSON, signed, within a bounded time."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

import aiohttp

from sessions.clock import Clock
from sessions.servicedesk.endpoints import WebhookEndpoint
from sessions.servicedesk.outbox import OutboxMessage
from signaling.notify.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign
from signaling.notify.transport import DeliveryError

logger = logging.getLogger(__name__)

EndpointLookup = Callable[[str], Awaitable[WebhookEndpoint | None]]
#: 4xx answers that mean "try later" rather than "never".
_RETRYABLE_4XX = frozenset({408, 409, 425, 429})


def webhook_body(message: OutboxMessage) -> bytes:
    """The JSON document a receiver gets: delivery id, event type, time and data."""
    document = {
        "id": message.id,
        "type": message.event_type,
        "created_at": message.created_at.isoformat(),
        "data": message.payload,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


class WebhookTransport:
    """Delivers webhook messages over one shared aiohttp client session."""

    def __init__(self, lookup: EndpointLookup, clock: Clock, timeout: float = 10.0) -> None:
        self._lookup = lookup
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    def headers(
        self, endpoint: WebhookEndpoint, message: OutboxMessage, body: bytes
    ) -> dict[str, str]:
        """Content type, event, delivery id and signature headers of one attempt."""
        stamp = int(self._clock.now().timestamp())
        return {
            "Content-Type": "application/json",
            "User-Agent": "TeleGuide-Webhooks/1",
            EVENT_HEADER: message.event_type,
            DELIVERY_HEADER: message.id,
            SIGNATURE_HEADER: sign(endpoint.secret, body, stamp),
        }

    async def deliver(self, message: OutboxMessage) -> None:
        """POST the message to its endpoint; 2xx is success, anything else a DeliveryError."""
        endpoint = await self._lookup(message.target)
        if endpoint is None:
            raise DeliveryError(
                f"webhook endpoint {message.target} no longer exists", permanent=True
            )
        body = webhook_body(message)
        try:
            async with self._client().post(
                endpoint.url, data=body, headers=self.headers(endpoint, message, body)
            ) as response:
                await response.read()
                status = response.status
        except TimeoutError as exc:
            raise DeliveryError(f"no answer within {self._timeout.total} s") from exc
        except aiohttp.ClientError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if not 200 <= status < 300:
            permanent = 400 <= status < 500 and status not in _RETRYABLE_4XX
            raise DeliveryError(f"HTTP {status} from {endpoint.url}", permanent=permanent)
        logger.debug("webhook %s delivered to %s", message.id, endpoint.url)

    async def close(self) -> None:
        """Close the client session; idempotent."""
        if self._session is not None:
            await self._session.close()
            self._session = None
