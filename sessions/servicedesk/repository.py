"""Service-desk persistence: expert profiles, SLA marks, callbacks, surveys and complaints."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sessions.exceptions import InvalidStateError, NotFoundError, ValidationError
from sessions.servicedesk.aftercare import (
    CallbackTask,
    Complaint,
    SurveyLink,
    check_answer,
    hash_token,
)
from sessions.servicedesk.catalogue import Catalogue
from sessions.servicedesk.experts import ExpertProfile, profile_from_json
from sessions.servicedesk.report import SurveyAnswer
from sessions.servicedesk.tables import (
    CallbackRow,
    ComplaintRow,
    ExpertRow,
    SlaMarkRow,
    SurveyRow,
)
from sessions.store.convert import ticket_from_row
from sessions.store.models import TicketRow
from sessions.tickets import Ticket

logger = logging.getLogger(__name__)


def _callback(row: CallbackRow) -> CallbackTask:
    return CallbackTask(
        row.ticket_id,
        row.due_at,
        row.created_at,
        row.assignee,
        row.id,
        row.done_at,
        row.outcome,
        row.independent,
    )


def _survey(row: SurveyRow) -> SurveyLink:
    return SurveyLink(
        row.token_hash,
        row.ticket_id,
        row.created_at,
        row.expires_at,
        row.used_at,
        row.score,
        row.comment,
    )


def _complaint(row: ComplaintRow) -> Complaint:
    return Complaint(
        row.ticket_id,
        row.reason,
        row.opened_by,
        row.opened_at,
        row.due_at,
        row.id,
        row.closed_at,
        row.resolution,
    )


async def marks_of(session: AsyncSession, ticket_ids: list[str]) -> dict[str, set[str]]:
    """The SLA markers already stored for each of ``ticket_ids``."""
    marks: dict[str, set[str]] = {tid: set() for tid in ticket_ids}
    if ticket_ids:
        stmt = select(SlaMarkRow.ticket_id, SlaMarkRow.key).where(
            SlaMarkRow.ticket_id.in_(ticket_ids)
        )
        for ticket_id, key in (await session.execute(stmt)).all():
            marks[ticket_id].add(key)
    return marks


async def claim_mark(
    session: AsyncSession, ticket_id: str, key: str, now: datetime, data: dict[str, str]
) -> bool:
    """Insert an SLA marker in the caller's transaction; False when it already exists."""
    if await session.get(SlaMarkRow, (ticket_id, key)) is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(SlaMarkRow(ticket_id=ticket_id, key=key, at=now, data=data))
    except IntegrityError:
        # Another node stored it between our read and our insert: it is theirs to act on.
        return False
    return True


class ServiceDeskRepository:
    """Each method is one transaction on the store's sessionmaker."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    # -- experts ----------------------------------------------------------------------------

    async def save_expert(self, profile: ExpertProfile, now: datetime) -> None:
        """Insert or replace an expert profile."""
        async with self._sessionmaker.begin() as session:
            row = await session.get(ExpertRow, profile.identity)
            if row is None:
                session.add(
                    ExpertRow(identity=profile.identity, profile=profile.to_json(), updated_at=now)
                )
            else:
                row.profile, row.updated_at = profile.to_json(), now

    async def load_experts(self, catalogue: Catalogue) -> list[ExpertProfile]:
        """Every stored profile that still passes the current catalogue.

        A profile naming a skill or language since removed from the catalogue is left out
        (and logged) rather than keeping the whole desk from starting.
        """
        async with self._sessionmaker() as session:
            rows = (await session.scalars(select(ExpertRow).order_by(ExpertRow.identity))).all()
        profiles = []
        for row in rows:
            try:
                profiles.append(profile_from_json(catalogue, row.profile))
            except ValidationError as exc:
                logger.warning("expert %s left out: %s", row.identity, exc.message)
        return profiles

    async def delete_expert(self, identity: str) -> None:
        """Remove a profile (NotFoundError when there is none)."""
        async with self._sessionmaker.begin() as session:
            row = await session.get(ExpertRow, identity)
            if row is None:
                raise NotFoundError(f"no expert {identity}", identity=identity)
            await session.delete(row)

    # -- SLA marks --------------------------------------------------------------------------

    async def marks(self, ticket_ids: list[str]) -> dict[str, set[str]]:
        """The SLA markers stored for each ticket."""
        async with self._sessionmaker() as session:
            return await marks_of(session, ticket_ids)

    # -- callbacks --------------------------------------------------------------------------

    async def add_callback(self, task: CallbackTask) -> CallbackTask:
        """Store a new callback task."""
        async with self._sessionmaker.begin() as session:
            session.add(
                CallbackRow(
                    id=task.id,
                    ticket_id=task.ticket_id,
                    due_at=task.due_at,
                    created_at=task.created_at,
                    assignee=task.assignee,
                    done_at=task.done_at,
                    outcome=task.outcome,
                    independent=task.independent,
                )
            )
        return task

    async def open_callbacks(self, due_before: datetime | None = None) -> list[CallbackTask]:
        """Callbacks not done yet, earliest due first (optionally only those due before)."""
        async with self._sessionmaker() as session:
            stmt = select(CallbackRow).where(CallbackRow.done_at.is_(None))
            if due_before is not None:
                stmt = stmt.where(CallbackRow.due_at < due_before)
            rows = (await session.scalars(stmt.order_by(CallbackRow.due_at))).all()
            return [_callback(row) for row in rows]

    async def complete_callback(
        self, callback_id: str, outcome: str, independent: bool | None, now: datetime
    ) -> CallbackTask:
        """Record that the call was made and what it found."""
        async with self._sessionmaker.begin() as session:
            row = await session.get(CallbackRow, callback_id)
            if row is None:
                raise NotFoundError(f"no callback {callback_id}")
            if row.done_at is not None:
                raise InvalidStateError(f"callback {callback_id} was already completed")
            row.done_at, row.outcome, row.independent = now, outcome.strip(), independent
            return _callback(row)

    # -- surveys ----------------------------------------------------------------------------

    async def add_survey(self, link: SurveyLink) -> None:
        """Store a survey link (its token hash)."""
        async with self._sessionmaker.begin() as session:
            session.add(
                SurveyRow(
                    token_hash=link.token_hash,
                    ticket_id=link.ticket_id,
                    created_at=link.created_at,
                    expires_at=link.expires_at,
                    comment="",
                )
            )

    async def get_survey(self, token: str) -> SurveyLink:
        """The survey link of a token (NotFoundError when unknown); the answer form shows it."""
        async with self._sessionmaker() as session:
            row = await session.get(SurveyRow, hash_token(token))
            if row is None:
                raise NotFoundError("unknown survey link")
            return _survey(row)

    async def submit_survey(
        self, token: str, score: int, comment: str, now: datetime
    ) -> SurveyLink:
        """Record an answer once; a second use raises SurveyUsedError, even when racing."""
        score, comment = check_answer(score, comment)
        digest = hash_token(token)
        async with self._sessionmaker.begin() as session:
            row = await session.get(SurveyRow, digest)
            if row is None:
                raise NotFoundError("unknown survey link")
            link = _survey(row)
            link.check_answerable(now)
            # Compare-and-set on used_at: of two concurrent submissions only one matches.
            stmt = (
                update(SurveyRow)
                .where(SurveyRow.token_hash == digest, SurveyRow.used_at.is_(None))
                .values(used_at=now, score=score, comment=comment)
                .execution_options(synchronize_session=False)
            )
            if not (await session.execute(stmt)).rowcount:  # type: ignore[attr-defined]
                link.used_at = now
                link.check_answerable(now)
        link.used_at, link.score, link.comment = now, score, comment
        return link

    async def survey_answers(self, since: datetime, until: datetime) -> list[SurveyAnswer]:
        """Answers given in ``[since, until)``, for the weekly report."""
        async with self._sessionmaker() as session:
            stmt = select(SurveyRow).where(SurveyRow.used_at >= since, SurveyRow.used_at < until)
            rows = (await session.scalars(stmt)).all()
            return [
                SurveyAnswer(r.ticket_id, r.score or 0, r.used_at)
                for r in rows
                if r.used_at is not None and r.score is not None
            ]

    async def tickets_opened_between(self, since: datetime, until: datetime) -> list[Ticket]:
        """Tickets created in ``[since, until)``, for the weekly report."""
        async with self._sessionmaker() as session:
            stmt = (
                select(TicketRow)
                .where(TicketRow.created_at >= since, TicketRow.created_at < until)
                .order_by(TicketRow.created_at, TicketRow.id)
            )
            return [ticket_from_row(row) for row in (await session.scalars(stmt)).all()]

    # -- complaints -------------------------------------------------------------------------

    async def add_complaint(self, complaint: Complaint) -> Complaint:
        """Store a new complaint."""
        async with self._sessionmaker.begin() as session:
            session.add(
                ComplaintRow(
                    id=complaint.id,
                    ticket_id=complaint.ticket_id,
                    reason=complaint.reason,
                    opened_by=complaint.opened_by,
                    opened_at=complaint.opened_at,
                    due_at=complaint.due_at,
                    resolution="",
                )
            )
        return complaint

    async def close_complaint(self, complaint_id: str, resolution: str, now: datetime) -> Complaint:
        """Close a complaint with how it was settled."""
        async with self._sessionmaker.begin() as session:
            row = await session.get(ComplaintRow, complaint_id)
            if row is None:
                raise NotFoundError(f"no complaint {complaint_id}")
            if row.closed_at is not None:
                raise InvalidStateError(f"complaint {complaint_id} is already closed")
            row.closed_at, row.resolution = now, resolution.strip()
            return _complaint(row)

    async def open_complaints(self) -> list[Complaint]:
        """Complaints not closed yet, earliest due first."""
        async with self._sessionmaker() as session:
            stmt = select(ComplaintRow).where(ComplaintRow.closed_at.is_(None))
            rows = (await session.scalars(stmt.order_by(ComplaintRow.due_at))).all()
            return [_complaint(row) for row in rows]

    async def claim_overdue_notice(self, complaint_id: str, now: datetime) -> bool:
        """Mark an overdue complaint as announced; True only for the first caller."""
        async with self._sessionmaker.begin() as session:
            stmt = (
                update(ComplaintRow)
                .where(ComplaintRow.id == complaint_id, ComplaintRow.overdue_notified_at.is_(None))
                .values(overdue_notified_at=now)
            )
            return bool((await session.execute(stmt)).rowcount)  # type: ignore[attr-defined]
