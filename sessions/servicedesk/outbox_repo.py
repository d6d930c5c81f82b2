"""The outbox and the webhook endpoints in SQL: queue, claim with a lease, settle, dead letters.

``enqueue`` and ``enqueue_event`` take the caller's session, so a notification commits in
the same transaction as the change it reports (nothing is announced that did not happen,
and nothing that happened goes unannounced).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sessions.exceptions import InvalidStateError, NotFoundError
from sessions.ids import new_id
from sessions.servicedesk.endpoints import WebhookEndpoint
from sessions.servicedesk.outbox import Channel, MessageStatus, OutboxMessage
from sessions.servicedesk.tables import OutboxRow, WebhookEndpointRow
from sessions.store.jsonable import jsonable

#: How long a claimed message is hidden from other workers while its attempt runs.
DEFAULT_LEASE = timedelta(minutes=2)
#: Errors kept per message (the newest ones).
_MAX_ERRORS = 20


def _message(row: OutboxRow) -> OutboxMessage:
    return OutboxMessage(
        id=row.id,
        channel=Channel(row.channel),
        target=row.target,
        event_type=row.event_type,
        payload=dict(row.payload),
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        attempts=row.attempts,
        status=MessageStatus(row.status),
        last_error=row.last_error,
        delivered_at=row.delivered_at,
        errors=list(row.errors),
    )


def _endpoint(row: WebhookEndpointRow) -> WebhookEndpoint:
    return WebhookEndpoint(
        row.url, row.secret, frozenset(row.events), row.id, row.active, row.description
    )


async def enqueue(
    session: AsyncSession,
    channel: Channel,
    target: str,
    event_type: str,
    payload: Mapping[str, Any],
    now: datetime,
) -> str:
    """Queue one message inside the caller's transaction; return its id."""
    message_id = new_id("msg")
    session.add(
        OutboxRow(
            id=message_id,
            channel=channel.value,
            target=target,
            event_type=event_type,
            payload=jsonable(dict(payload)),
            created_at=now,
            next_attempt_at=now,
            attempts=0,
            status=MessageStatus.PENDING.value,
            last_error="",
            errors=[],
        )
    )
    return message_id


async def enqueue_event(
    session: AsyncSession, event_type: str, data: Mapping[str, Any], now: datetime
) -> list[str]:
    """Queue a webhook event for every active endpoint that subscribes to it."""
    rows = (
        await session.scalars(select(WebhookEndpointRow).where(WebhookEndpointRow.active))
    ).all()
    ids = []
    for row in rows:
        if _endpoint(row).wants(event_type):
            ids.append(await enqueue(session, Channel.WEBHOOK, row.id, event_type, data, now))
    return ids


class OutboxRepository:
    """Outbox and endpoint operations, each in its own transaction."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def add_endpoint(self, endpoint: WebhookEndpoint, now: datetime) -> WebhookEndpoint:
        """Store a new webhook endpoint."""
        async with self._sessionmaker.begin() as session:
            session.add(
                WebhookEndpointRow(
                    id=endpoint.id,
                    url=endpoint.url,
                    secret=endpoint.secret,
                    events=sorted(endpoint.events),
                    active=endpoint.active,
                    description=endpoint.description,
                    created_at=now,
                )
            )
        return endpoint

    async def get_endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        """An endpoint by id, or None."""
        async with self._sessionmaker() as session:
            row = await session.get(WebhookEndpointRow, endpoint_id)
            return None if row is None else _endpoint(row)

    async def list_endpoints(self) -> list[WebhookEndpoint]:
        """Every endpoint, oldest first."""
        async with self._sessionmaker() as session:
            stmt = select(WebhookEndpointRow).order_by(WebhookEndpointRow.created_at)
            return [_endpoint(row) for row in (await session.scalars(stmt)).all()]

    async def set_endpoint_active(self, endpoint_id: str, active: bool) -> None:
        """Switch an endpoint on or off."""
        async with self._sessionmaker.begin() as session:
            row = await session.get(WebhookEndpointRow, endpoint_id)
            if row is None:
                raise NotFoundError(f"webhook endpoint {endpoint_id} not found")
            row.active = active

    async def enqueue(
        self,
        channel: Channel,
        target: str,
        event_type: str,
        payload: Mapping[str, Any],
        now: datetime,
    ) -> str:
        """Queue one message in a transaction of its own."""
        async with self._sessionmaker.begin() as session:
            return await enqueue(session, channel, target, event_type, payload, now)

    async def publish(self, event_type: str, data: Mapping[str, Any], now: datetime) -> list[str]:
        """Queue a webhook event for its subscribers, in a transaction of its own."""
        async with self._sessionmaker.begin() as session:
            return await enqueue_event(session, event_type, data, now)

    async def get(self, message_id: str) -> OutboxMessage:
        """One message, or NotFoundError."""
        async with self._sessionmaker() as session:
            row = await session.get(OutboxRow, message_id)
            if row is None:
                raise NotFoundError(f"outbox message {message_id} not found")
            return _message(row)

    async def claim_due(
        self, now: datetime, limit: int = 20, lease: timedelta = DEFAULT_LEASE
    ) -> list[OutboxMessage]:
        """Take up to ``limit`` due messages for one attempt each, hiding them for ``lease``.

        Each claim is a compare-and-set on ``next_attempt_at``, so two workers (or nodes)
        never attempt the same message at once.
        """
        async with self._sessionmaker.begin() as session:
            stmt = (
                select(OutboxRow.id, OutboxRow.next_attempt_at)
                .where(OutboxRow.status == MessageStatus.PENDING.value)
                .where(OutboxRow.next_attempt_at <= now)
                .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
                .limit(limit)
            )
            candidates = (await session.execute(stmt)).all()
            claimed = [
                mid for mid, seen in candidates if await _claim(session, mid, seen, now + lease)
            ]
        return [await self.get(mid) for mid in claimed]

    async def mark_delivered(self, message_id: str, now: datetime) -> None:
        """The attempt succeeded."""
        async with self._sessionmaker.begin() as session:
            row = await _row(session, message_id)
            row.status = MessageStatus.DELIVERED.value
            row.delivered_at = now
            row.last_error = ""

    async def mark_failed(self, message_id: str, error: str, retry_at: datetime | None) -> None:
        """The attempt failed: retry at ``retry_at``, or dead-letter it when that is None."""
        async with self._sessionmaker.begin() as session:
            row = await _row(session, message_id)
            row.last_error = error
            row.errors = [*row.errors, error][-_MAX_ERRORS:]
            if retry_at is None:
                row.status = MessageStatus.DEAD.value
            else:
                row.next_attempt_at = retry_at

    async def dead_letters(self, limit: int = 100) -> list[OutboxMessage]:
        """Messages that ran out of attempts, newest first."""
        async with self._sessionmaker() as session:
            stmt = (
                select(OutboxRow)
                .where(OutboxRow.status == MessageStatus.DEAD.value)
                .order_by(OutboxRow.next_attempt_at.desc(), OutboxRow.id)
                .limit(limit)
            )
            return [_message(row) for row in (await session.scalars(stmt)).all()]

    async def pending_count(self) -> int:
        """Messages still waiting for delivery."""
        async with self._sessionmaker() as session:
            stmt = select(OutboxRow.id).where(OutboxRow.status == MessageStatus.PENDING.value)
            return len((await session.scalars(stmt)).all())

    async def redrive(self, message_id: str, now: datetime) -> None:
        """Give a dead message a fresh set of attempts (after the receiver was fixed)."""
        async with self._sessionmaker.begin() as session:
            row = await _row(session, message_id)
            if row.status != MessageStatus.DEAD.value:
                raise InvalidStateError(f"message {message_id} is {row.status}, not dead")
            row.status = MessageStatus.PENDING.value
            row.attempts = 0
            row.next_attempt_at = now


async def _row(session: AsyncSession, message_id: str) -> OutboxRow:
    row = await session.get(OutboxRow, message_id)
    if row is None:
        raise NotFoundError(f"outbox message {message_id} not found")
    return row


async def _claim(session: AsyncSession, message_id: str, seen: datetime, until: datetime) -> bool:
    stmt = (
        update(OutboxRow)
        .where(OutboxRow.id == message_id)
        .where(OutboxRow.next_attempt_at == seen)
        .where(OutboxRow.status == MessageStatus.PENDING.value)
        .values(next_attempt_at=until, attempts=OutboxRow.attempts + 1)
    )
    result = await session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]
