"""The ``recordings`` and ``recording_exports`` rows, on the shared store's engine.

The store's repository keeps tickets and the audit log; this keeps the recording tables in
the same database (``Store.engine`` and ``Store.sessionmaker`` are public for this), and
writes the audit log through the store so there is one log.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from media.recording.audit import AuditRecord
from media.recording.manifest import Manifest
from media.recording.rows import row_fields
from media.recording.state import FINAL_STATES
from sessions.exceptions import NotFoundError
from sessions.store.recordings_tables import RecordingExportRow, RecordingRow
from sessions.store.repository import Store


class RecordingRepository:
    """Reads and writes recording rows; every method is one transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def save(
        self, manifest: Manifest, directory: str, parties: Iterable[str], size_bytes: int = 0
    ) -> RecordingRow:
        """Insert the row of ``manifest`` or bring it up to date (state, times, tracks)."""
        fields = row_fields(manifest, directory, size_bytes)
        fields["tracks"] = {**fields["tracks"], "parties": sorted(set(parties))}
        async with self.store.sessionmaker() as session, session.begin():
            row = await session.get(RecordingRow, manifest.recording_id)
            if row is None:
                row = RecordingRow(**fields)
                session.add(row)
            else:
                known = set(row.tracks.get("parties", []))
                fields["tracks"]["parties"] = sorted(known | set(fields["tracks"]["parties"]))
                for column, value in fields.items():
                    setattr(row, column, value)
            return row

    async def get(self, recording_id: str) -> RecordingRow:
        """One recording's row, deleted or not; NotFoundError when unknown."""
        async with self.store.sessionmaker() as session:
            row = await session.get(RecordingRow, recording_id)
        if row is None:
            raise NotFoundError(f"no recording {recording_id}")
        return row

    async def for_ticket(self, ticket_id: str) -> list[RecordingRow]:
        """A ticket's recordings that still have files, oldest first."""
        stmt = (
            select(RecordingRow)
            .where(RecordingRow.ticket_id == ticket_id, RecordingRow.deleted_at.is_(None))
            .order_by(RecordingRow.started_at, RecordingRow.id)
        )
        async with self.store.sessionmaker() as session:
            return list((await session.scalars(stmt)).all())

    async def finished(self) -> list[RecordingRow]:
        """Every finished recording that still has files (what retention looks at)."""
        stmt = select(RecordingRow).where(
            RecordingRow.state.in_([s.value for s in FINAL_STATES]),
            RecordingRow.deleted_at.is_(None),
        )
        async with self.store.sessionmaker() as session:
            return list((await session.scalars(stmt)).all())

    async def mark_deleted(self, recording_id: str, actor: str, now: datetime) -> None:
        """Note that the files are gone; the row stays, as the audit log points at it."""
        async with self.store.sessionmaker() as session, session.begin():
            row = await session.get(RecordingRow, recording_id)
            if row is not None:
                row.deleted_at, row.deleted_by = now, actor

    async def save_export(self, row: RecordingExportRow) -> None:
        """Insert or update an export job's row."""
        async with self.store.sessionmaker() as session, session.begin():
            await session.merge(row)

    async def get_export(self, recording_id: str, export_id: str) -> RecordingExportRow:
        """One export job of a recording; NotFoundError when unknown."""
        async with self.store.sessionmaker() as session:
            row = await session.get(RecordingExportRow, export_id)
        if row is None or row.recording_id != recording_id:
            raise NotFoundError(f"no export {export_id} of recording {recording_id}")
        return row

    async def audit(self, record: AuditRecord, request_id: str | None = None) -> None:
        """Write one access or removal into the shared audit log."""
        data: dict[str, Any] = {"ticket_id": record.ticket_id, **record.data}
        await self.store.audit(
            actor=record.actor,
            action=record.action,
            object_type=record.object_type,
            object_id=record.recording_id,
            now=record.at,
            data=data,
            request_id=request_id,
        )
