"""The recordings tables: migration 0003_recordings matches the models, up and down."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

from media.recording.manifest import Manifest, TrackEntry
from media.recording.policy import RecordingPolicy
from media.recording.rows import new_row
from media.recording.state import RecordingState
from sessions.calendar import BusinessCalendar
from sessions.sla import SlaPolicy
from sessions.store.migrate import downgrade_to_base
from sessions.store.models import Base
from sessions.store.recordings_tables import RecordingExportRow, RecordingRow
from sessions.store.repository import Store
from sessions.tickets import TicketKind, Tier

OURS = {"recordings", "recording_exports"}


def _ours(diff: object) -> bool:
    return any(name in repr(diff) for name in OURS)


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A fresh SQLite database."""
    return f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"


async def test_migration_creates_what_the_models_declare(url: str) -> None:
    store = await Store.open(url)
    try:
        await store.migrate()
        assert "0003_recordings" in await store.schema_revisions()
        async with store.engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
            diffs = await connection.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
            )
        assert tables >= OURS
        assert [d for d in diffs if _ours(d)] == []
        await asyncio.to_thread(downgrade_to_base, url)
        async with store.engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert not tables & OURS
    finally:
        await store.close()


async def test_rows_round_trip(url: str) -> None:
    store = await Store.open(url)
    now = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    try:
        await store.migrate()
        ticket = await store.create_ticket(
            kind=TicketKind.DEVICE_FAULT,
            tier=Tier.ROUTINE,
            title="Stimulator shows error 12",
            requester="clinic-1",
            language="en",
            actor="clinic-1",
            now=now,
            policy=SlaPolicy.from_config(None, BusinessCalendar("Europe/Berlin")),
        )
        async with store.sessionmaker() as session, session.begin():
            session.add(
                RecordingRow(
                    id="rec_1",
                    ticket_id=ticket.id,
                    session_id="ses_1",
                    ticket_kind="device_fault",
                    policy="full",
                    state="complete",
                    started_at=now,
                    directory="rec_1",
                    tracks={"video": 1, "audio": 1},
                )
            )
        async with store.sessionmaker() as session, session.begin():
            session.add(
                RecordingExportRow(
                    id="exp_1",
                    recording_id="rec_1",
                    requested_by="expert-1",
                    state="queued",
                    output="exports/exp_1.mp4",
                    created_at=now,
                )
            )
        async with store.sessionmaker() as session:
            row = (await session.execute(select(RecordingRow))).scalar_one()
        assert (row.started_at, row.encrypted, row.size_bytes) == (now, False, 0)
        assert row.tracks == {"video": 1, "audio": 1}
    finally:
        await store.close()


async def test_row_from_a_manifest(url: str) -> None:
    store = await Store.open(url)
    now = datetime(2026, 7, 2, 9, 0, tzinfo=UTC)
    try:
        await store.migrate()
        ticket = await store.create_ticket(
            kind=TicketKind.GUIDED_EXERCISE,
            tier=Tier.ROUTINE,
            title="Knee rehab session",
            requester="clinic-2",
            language="en",
            actor="clinic-2",
            now=now,
            policy=SlaPolicy.from_config(None, BusinessCalendar("Europe/Berlin")),
        )
        track = TrackEntry(
            track_id="trk_1",
            producer_id="prd_1",
            participant_id="pat-1",
            kind="video",
            codec="video/VP8",
            file="trk_1.webm.enc",
            start_media_s=1.5,
            duration_s=60.0,
            encrypted=True,
        )
        manifest = Manifest(
            recording_id="rec_2",
            session_id="ses_2",
            ticket_id=ticket.id,
            ticket_kind="guided_exercise",
            policy=RecordingPolicy.FULL,
            state=RecordingState.INTERRUPTED,
            reason="server_stopped",
            started_at=now,
            tracks=[track],
        )
        async with store.sessionmaker() as session, session.begin():
            session.add(new_row(manifest, "rec_2", size_bytes=1234))
        async with store.sessionmaker() as session:
            row = (await session.execute(select(RecordingRow))).scalar_one()
        assert (row.state, row.reason, row.encrypted, row.size_bytes) == (
            "interrupted",
            "server_stopped",
            True,
            1234,
        )
        assert row.tracks["items"][0]["start_media_s"] == 1.5
    finally:
        await store.close()
