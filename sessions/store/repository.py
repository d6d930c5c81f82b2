"""The store: the one repository interface of TeleGuide's persistent state.

Each public operation is one transaction: it either writes everything it describes (the row
and its timeline or audit entry) or nothing. Domain records go in and come out; ORM rows
stay inside.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from sessions.exceptions import ConflictError, InvalidStateError, NotFoundError, ValidationError
from sessions.ids import new_id
from sessions.sla import SlaPolicy
from sessions.store import changes as ticket_changes
from sessions.store.convert import (
    audit_from_row,
    session_from_row,
    ticket_columns,
    ticket_from_row,
    timeline_from_row,
    user_from_row,
)
from sessions.store.cursor import decode_cursor, encode_cursor
from sessions.store.engine import create_engine_for
from sessions.store.jsonable import jsonable
from sessions.store.migrate import upgrade_to_heads
from sessions.store.models import AuditRow, LiveSessionRow, TicketRow, TimelineRow, UserRow
from sessions.store.records import AuditEntry, SessionRecord, User
from sessions.store.timeline import (
    append_timeline_entry,
    lock_ticket,
    require_utc,
    write_audit,
)
from sessions.tickets import (
    Device,
    Ticket,
    TicketKind,
    TicketStatus,
    Tier,
    TimelineEntry,
    check_transition,
)

log = logging.getLogger(__name__)

MAX_PAGE = 500


class StoreState(StrEnum):
    """Lifecycle of a Store."""

    OPEN = "open"
    CLOSED = "closed"


class Store:
    """Tickets, timelines, users, live-session records and the audit log.

    ``engine`` and ``sessionmaker`` are public so that other packages can keep their own
    tables (on ``sessions.store.models.Base``) in the same database.
    """

    def __init__(self, engine: AsyncEngine, url: str) -> None:
        self.engine = engine
        self.url = url
        self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        self.state = StoreState.OPEN

    @classmethod
    async def open(cls, url: str) -> Store:
        """Connect to ``sqlite+aiosqlite:///path`` or ``postgresql+asyncpg://...``."""
        # In a thread: for SQLite the dialect resolves the file's absolute path (disk I/O).
        engine = await asyncio.to_thread(create_engine_for, url)
        database = make_url(url).database
        if engine.dialect.name == "sqlite" and database and database != ":memory:":
            await asyncio.to_thread(Path(database).parent.mkdir, parents=True, exist_ok=True)
        log.info("store opened on %s", make_url(url).render_as_string(hide_password=True))
        return cls(engine, url)

    async def migrate(self) -> None:
        """Upgrade the schema to every head (Alembic does file I/O, so in a thread)."""
        self._require_open()
        await asyncio.to_thread(upgrade_to_heads, self.url)

    async def schema_revisions(self) -> set[str]:
        """The Alembic revisions the database is at (empty before migrate)."""
        from alembic.runtime.migration import MigrationContext

        async with self.engine.connect() as connection:
            heads = await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_heads()
            )
        return set(heads)

    async def ping(self) -> None:
        """Run a trivial query; raises when the database does not answer."""
        self._require_open()
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        """Close every connection; safe to call twice."""
        if self.state is StoreState.CLOSED:
            return
        self._set_state(StoreState.CLOSED)
        await self.engine.dispose()

    # ---- tickets -------------------------------------------------------------------------

    async def create_ticket(
        self,
        *,
        kind: TicketKind,
        tier: Tier,
        title: str,
        requester: str,
        language: str,
        actor: str,
        now: datetime,
        policy: SlaPolicy,
        description: str = "",
        device: Device | None = None,
        patient: str | None = None,
        assignee: str | None = None,
        targets: Mapping[str, Any] | None = None,
    ) -> Ticket:
        """Open a ticket with its SLA deadlines and a ``created`` timeline entry."""
        now = require_utc(now)
        tier = Tier(tier)
        ticket = Ticket(
            id=new_id("tkt"),
            kind=TicketKind(kind),
            tier=tier,
            status=TicketStatus.OPEN,
            title=title,
            requester=requester,
            language=language,
            created_at=now,
            updated_at=now,
            deadlines=policy.deadlines_for(tier, now),
            description=description,
            device=device,
            patient=patient,
            assignee=assignee,
            targets=jsonable(dict(targets or {})),
        )
        async with self._transaction() as session:
            row = TicketRow(**ticket_columns(ticket))
            session.add(row)
            await session.flush()
            await append_timeline_entry(
                session,
                ticket.id,
                actor=actor,
                action="created",
                data=_created_data(ticket),
                now=now,
                locked=True,
            )
            return ticket_from_row(row)

    async def get_ticket(self, ticket_id: str) -> Ticket:
        """One ticket; NotFoundError if there is none."""
        async with self._transaction() as session:
            row = await session.get(TicketRow, ticket_id)
            if row is None:
                raise NotFoundError(f"ticket {ticket_id} not found", ticket_id=ticket_id)
            return ticket_from_row(row)

    async def list_tickets(
        self,
        *,
        status: TicketStatus | Collection[TicketStatus] | None = None,
        tier: Tier | None = None,
        kind: TicketKind | None = None,
        assignee: str | None = None,
        patient: str | None = None,
        requester: str | None = None,
        party: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        newest_first: bool = True,
    ) -> tuple[list[Ticket], str | None]:
        """A page of tickets in (created_at, id) order and the cursor of the next page.

        ``party`` keeps tickets where the identity is requester, patient or assignee.
        """
        if not 1 <= limit <= MAX_PAGE:
            raise ValidationError(f"limit must be 1-{MAX_PAGE}", field="limit")
        conditions = _ticket_filters(status, tier, kind, assignee, patient, requester, party)
        if cursor is not None:
            conditions.append(_after(decode_cursor(cursor), newest_first))
        order = (TicketRow.created_at, TicketRow.id)
        stmt = (
            select(TicketRow)
            .where(*conditions)
            .order_by(*(c.desc() for c in order) if newest_first else order)
            .limit(limit + 1)
        )
        async with self._transaction() as session:
            rows = list((await session.scalars(stmt)).all())
        page = [ticket_from_row(row) for row in rows[:limit]]
        more = len(rows) > limit
        return page, encode_cursor(page[-1].created_at, page[-1].id) if more else None

    async def update_ticket(
        self,
        ticket_id: str,
        changes: Mapping[str, Any],
        *,
        actor: str,
        now: datetime,
        expected_version: int | None = None,
        policy: SlaPolicy | None = None,
    ) -> Ticket:
        """Change editable fields; the timeline records each field's old and new value.

        ConflictError when ``expected_version`` is not the current version. A change of tier
        recomputes the deadlines from the opening time and needs ``policy``.
        """
        now = require_utc(now)
        async with self._transaction() as session:
            row = await lock_ticket(session, ticket_id)
            if expected_version is not None and row.version != expected_version:
                raise ConflictError(
                    f"ticket {ticket_id} is at version {row.version}, not {expected_version}",
                    current_version=row.version,
                )
            before = ticket_from_row(row)
            after, diff = ticket_changes.edited(before, changes, policy)
            if not diff:
                return before
            after.updated_at = now
            await self._write_ticket(session, row, after)
            await append_timeline_entry(
                session,
                ticket_id,
                actor=actor,
                action="updated",
                data={"changes": diff},
                now=now,
                locked=True,
            )
            return ticket_from_row(row)

    async def transition_ticket(
        self,
        ticket_id: str,
        target: TicketStatus,
        *,
        actor: str,
        now: datetime,
        policy: SlaPolicy,
        note: str | None = None,
    ) -> Ticket:
        """Move a ticket to ``target`` (InvalidTransitionError naming the current status).

        The row is locked before the check, so of two concurrent moves the second is judged
        against the status the first left behind.
        """
        now = require_utc(now)
        target = TicketStatus(target)
        async with self._transaction() as session:
            row = await lock_ticket(session, ticket_id)
            before = ticket_from_row(row)
            check_transition(before.status, target)
            after = ticket_changes.transitioned(before, target, now, policy)
            await self._write_ticket(session, row, after)
            await append_timeline_entry(
                session,
                ticket_id,
                actor=actor,
                action="status_changed",
                data={"from": before.status, "to": target, "note": note},
                now=now,
                locked=True,
            )
            log.info("ticket %s: %s -> %s by %s", ticket_id, before.status, target, actor)
            return ticket_from_row(row)

    # ---- timeline ------------------------------------------------------------------------

    async def append_timeline(
        self,
        ticket_id: str,
        *,
        actor: str,
        action: str,
        data: Mapping[str, Any] | None = None,
        now: datetime,
    ) -> TimelineEntry:
        """Append an event (``session_joined``, ``recording_ready``, ...) to a ticket."""
        async with self._transaction() as session:
            return await append_timeline_entry(
                session, ticket_id, actor=actor, action=action, data=data, now=now
            )

    async def append_timeline_many(
        self,
        ticket_id: str,
        entries: Sequence[tuple[str, str, Mapping[str, Any]]],
        *,
        now: datetime,
    ) -> list[TimelineEntry]:
        """Append several (actor, action, data) entries in order, in one transaction."""
        async with self._transaction() as session:
            await lock_ticket(session, ticket_id)
            return [
                await append_timeline_entry(
                    session,
                    ticket_id,
                    actor=actor,
                    action=action,
                    data=data,
                    now=now,
                    locked=True,
                )
                for actor, action, data in entries
            ]

    async def list_timeline(self, ticket_id: str) -> list[TimelineEntry]:
        """A ticket's timeline, oldest first; NotFoundError for an unknown ticket."""
        async with self._transaction() as session:
            if await session.get(TicketRow, ticket_id) is None:
                raise NotFoundError(f"ticket {ticket_id} not found", ticket_id=ticket_id)
            stmt = (
                select(TimelineRow)
                .where(TimelineRow.ticket_id == ticket_id)
                .order_by(TimelineRow.seq)
            )
            return [timeline_from_row(row) for row in (await session.scalars(stmt)).all()]

    # ---- users ---------------------------------------------------------------------------

    async def upsert_user(
        self,
        *,
        identity: str,
        display_name: str,
        role: str,
        language: str,
        now: datetime,
        email: str | None = None,
    ) -> User:
        """Create a user or update their name, role, language and email (keeps created_at)."""
        values = {
            "identity": identity,
            "display_name": display_name,
            "role": role,
            "language": language,
            "email": email,
            "created_at": require_utc(now),
        }
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(UserRow).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[UserRow.identity],
            set_={k: stmt.excluded[k] for k in ("display_name", "role", "language", "email")},
        )
        async with self._transaction() as session:
            await session.execute(stmt)
            row = await session.get(UserRow, identity, populate_existing=True)
            assert row is not None  # just written in this transaction
            return user_from_row(row)

    async def get_user(self, identity: str) -> User:
        """One user; NotFoundError if unknown."""
        async with self._transaction() as session:
            row = await session.get(UserRow, identity)
            if row is None:
                raise NotFoundError(f"user {identity} not found", identity=identity)
            return user_from_row(row)

    async def list_users(self, *, role: str | None = None) -> list[User]:
        """Users by identity, optionally of one role."""
        stmt = select(UserRow).order_by(UserRow.identity)
        if role is not None:
            stmt = stmt.where(UserRow.role == role)
        async with self._transaction() as session:
            return [user_from_row(row) for row in (await session.scalars(stmt)).all()]

    # ---- live sessions -------------------------------------------------------------------

    async def create_session_record(
        self,
        *,
        ticket_id: str,
        kind: str,
        created_by: str,
        now: datetime,
        recording_policy: str = "off",
        state: str = "created",
        node: str | None = None,
        session_id: str | None = None,
    ) -> SessionRecord:
        """Record a new live session of a ticket (NotFoundError for an unknown ticket)."""
        row = LiveSessionRow(
            id=session_id or new_id("ses"),
            ticket_id=ticket_id,
            kind=kind,
            state=state,
            created_at=require_utc(now),
            created_by=created_by,
            recording_policy=recording_policy,
            node=node,
        )
        async with self._transaction() as session:
            if await session.get(TicketRow, ticket_id) is None:
                raise NotFoundError(f"ticket {ticket_id} not found", ticket_id=ticket_id)
            if await session.get(LiveSessionRow, row.id) is not None:
                raise ConflictError(f"session {row.id} already exists", session_id=row.id)
            session.add(row)
            await session.flush()
            return session_from_row(row)

    async def update_session_record(
        self,
        session_id: str,
        *,
        state: str | None = None,
        started_at: datetime | None = None,
        ended_at: datetime | None = None,
        node: str | None = None,
    ) -> SessionRecord:
        """Set the given fields of a session record (None leaves a field as it is)."""
        async with self._transaction() as session:
            row = await session.get(LiveSessionRow, session_id, with_for_update=True)
            if row is None:
                raise NotFoundError(f"session {session_id} not found", session_id=session_id)
            if state is not None:
                row.state = state
            if started_at is not None:
                row.started_at = require_utc(started_at, "started_at")
            if ended_at is not None:
                row.ended_at = require_utc(ended_at, "ended_at")
            if node is not None:
                row.node = node
            await session.flush()
            return session_from_row(row)

    async def get_session_record(self, session_id: str) -> SessionRecord:
        """One session record; NotFoundError if unknown."""
        async with self._transaction() as session:
            row = await session.get(LiveSessionRow, session_id)
            if row is None:
                raise NotFoundError(f"session {session_id} not found", session_id=session_id)
            return session_from_row(row)

    async def list_session_records(self, ticket_id: str) -> list[SessionRecord]:
        """A ticket's sessions, oldest first."""
        stmt = (
            select(LiveSessionRow)
            .where(LiveSessionRow.ticket_id == ticket_id)
            .order_by(LiveSessionRow.created_at, LiveSessionRow.id)
        )
        async with self._transaction() as session:
            return [session_from_row(row) for row in (await session.scalars(stmt)).all()]

    async def list_open_session_records(self, *, node: str | None = None) -> list[SessionRecord]:
        """Sessions not yet closed (optionally of one node): after a restart their media is gone."""
        stmt = select(LiveSessionRow).where(LiveSessionRow.state != "closed")
        if node is not None:
            stmt = stmt.where(LiveSessionRow.node == node)
        async with self._transaction() as session:
            rows = (await session.scalars(stmt.order_by(LiveSessionRow.created_at))).all()
            return [session_from_row(row) for row in rows]

    # ---- audit ---------------------------------------------------------------------------

    async def audit(
        self,
        *,
        actor: str,
        action: str,
        object_type: str,
        object_id: str,
        now: datetime,
        data: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> AuditEntry:
        """Append an entry to the audit log."""
        async with self._transaction() as session:
            return await write_audit(
                session,
                actor=actor,
                action=action,
                object_type=object_type,
                object_id=object_id,
                data=data,
                request_id=request_id,
                now=now,
            )

    async def list_audit(
        self,
        *,
        object_type: str | None = None,
        object_id: str | None = None,
        actor: str | None = None,
        limit: int = 1000,
    ) -> list[AuditEntry]:
        """Audit entries, oldest first, optionally for one object or actor."""
        stmt = select(AuditRow).order_by(AuditRow.id).limit(limit)
        for column, value in (
            (AuditRow.object_type, object_type),
            (AuditRow.object_id, object_id),
            (AuditRow.actor, actor),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        async with self._transaction() as session:
            return [audit_from_row(row) for row in (await session.scalars(stmt)).all()]

    # ---- internals -----------------------------------------------------------------------

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        """One session in one transaction: commit on success, roll back on any error."""
        self._require_open()
        async with self.sessionmaker() as session, session.begin():
            yield session

    async def _write_ticket(self, session: AsyncSession, row: TicketRow, ticket: Ticket) -> None:
        """Copy a ticket onto its row and flush (the ORM bumps and checks ``version``)."""
        for column, value in ticket_columns(ticket).items():
            if getattr(row, column) != value:
                setattr(row, column, value)
        try:
            await session.flush()
        except StaleDataError as exc:
            raise ConflictError(f"ticket {ticket.id} was changed concurrently") from exc

    def _require_open(self) -> None:
        """Refuse work after close()."""
        if self.state is not StoreState.OPEN:
            raise InvalidStateError(f"cannot use the store in state {self.state.value}")

    def _set_state(self, state: StoreState) -> None:
        """The one place the state changes."""
        if state is not self.state:
            log.debug("store %s -> %s", self.state.value, state.value)
            self.state = state


def _created_data(ticket: Ticket) -> dict[str, Any]:
    """What the ``created`` timeline entry records."""
    return {
        "kind": ticket.kind,
        "tier": ticket.tier,
        "title": ticket.title,
        "requester": ticket.requester,
        "patient": ticket.patient,
        "assignee": ticket.assignee,
        "response_due_at": ticket.deadlines.response_due_at,
        "resolution_due_at": ticket.deadlines.resolution_due_at,
    }


def _ticket_filters(
    status: TicketStatus | Collection[TicketStatus] | None,
    tier: Tier | None,
    kind: TicketKind | None,
    assignee: str | None,
    patient: str | None,
    requester: str | None,
    party: str | None,
) -> list[ColumnElement[bool]]:
    """WHERE conditions of a ticket listing."""
    conditions: list[ColumnElement[bool]] = []
    if isinstance(status, str):
        conditions.append(TicketRow.status == TicketStatus(status).value)
    elif status is not None:
        conditions.append(TicketRow.status.in_([TicketStatus(s).value for s in status]))
    for column, value in (
        (TicketRow.tier, tier),
        (TicketRow.kind, kind),
        (TicketRow.assignee, assignee),
        (TicketRow.patient, patient),
        (TicketRow.requester, requester),
    ):
        if value is not None:
            conditions.append(column == str(value))
    if party is not None:
        conditions.append(
            or_(
                TicketRow.requester == party,
                TicketRow.patient == party,
                TicketRow.assignee == party,
            )
        )
    return conditions


def _after(position: tuple[datetime, str], newest_first: bool) -> ColumnElement[bool]:
    """Rows strictly after ``position`` in the listing's order (the keyset condition)."""
    created_at, item_id = position
    if newest_first:
        return or_(
            TicketRow.created_at < created_at,
            and_(TicketRow.created_at == created_at, TicketRow.id < item_id),
        )
    return or_(
        TicketRow.created_at > created_at,
        and_(TicketRow.created_at == created_at, TicketRow.id > item_id),
    )
