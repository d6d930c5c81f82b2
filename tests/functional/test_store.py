"""The store against SQLite and PostgreSQL: every test runs on both."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import cast

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from sessions.calendar import BusinessCalendar
from sessions.exceptions import (
    ConflictError,
    InvalidStateError,
    InvalidTransitionError,
    NotFoundError,
    ValidationError,
)
from sessions.sla import SlaPolicy
from sessions.store import Store
from sessions.store.engine import create_engine_for
from sessions.store.migrate import alembic_config, downgrade_to_base
from sessions.store.models import Base, LiveSessionRow
from sessions.store.registry import import_table_modules
from sessions.tickets import Device, Ticket, TicketKind, TicketStatus, Tier
from tests.conftest import require_service

POLICY = SlaPolicy.from_config(None, BusinessCalendar("Europe/Berlin"))
T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)  # a Monday
STORE_TABLES = {"users", "tickets", "ticket_timeline", "live_sessions", "audit_log"}
S = TicketStatus


# ---- databases ---------------------------------------------------------------------------


def _postgres_base_url() -> str:
    """The server the suite's postgres_url fixture points at (module scope cannot use it)."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    return os.environ.get(
        "TELEGUIDE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )


async def _admin(base_url: str, sql: str) -> None:
    """Run one statement on the ``postgres`` maintenance database of that server."""
    url = make_url(base_url).set(drivername="postgresql", database="postgres")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def create_database(base_url: str) -> str:
    """A new, uniquely named database on the server of ``base_url``; returns its URL."""
    name = f"teleguide_store_{uuid.uuid4().hex[:12]}"
    await _admin(base_url, f'CREATE DATABASE "{name}"')
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    """Drop a database made by create_database."""
    name = make_url(url).database
    await _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _migrated(url: str) -> str:
    """Migrate ``url`` to heads through the store itself and return it."""
    store = await Store.open(url)
    try:
        await store.migrate()
    finally:
        await store.close()
    return url


@pytest.fixture(scope="module")
def postgres_database() -> Iterator[str]:
    """One fresh, migrated PostgreSQL database for this module, dropped afterwards."""
    base = _postgres_base_url()
    url = asyncio.run(create_database(base))
    try:
        asyncio.run(_migrated(url))
        yield url
    finally:
        asyncio.run(drop_database(url))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Which database a test runs on."""
    return str(request.param)


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database under test (sync, so the module fixture runs outside any event loop)."""
    if backend == "postgres":
        return str(request.getfixturevalue("postgres_database"))
    return f"sqlite+aiosqlite:///{tmp_path}/store.sqlite3"


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """An open, migrated store on the backend under test."""
    opened = await Store.open(await _migrated(store_url))
    yield opened
    await opened.close()


@pytest.fixture
async def empty_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a database with nothing in it."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/empty.sqlite3"
        return
    url = await create_database(_postgres_base_url())
    try:
        yield url
    finally:
        await drop_database(url)


def who() -> str:
    """A requester identity unique to the test, so tests sharing a database stay apart."""
    return f"req-{uuid.uuid4().hex[:10]}"


async def open_ticket(
    store: Store, requester: str, *, tier: Tier = Tier.URGENT, now: datetime = T0, **extra: object
) -> Ticket:
    """A ticket as the HTTP layer would create it."""
    return await store.create_ticket(
        kind=TicketKind.DEVICE_FAULT,
        tier=tier,
        title="Infusion pump alarms on start",
        requester=requester,
        language="de",
        actor=requester,
        now=now,
        policy=POLICY,
        **extra,  # type: ignore[arg-type]
    )


# ---- migrations --------------------------------------------------------------------------


async def _script() -> ScriptDirectory:
    """The revision graph (reads the versions folder, so off the loop)."""
    return await asyncio.to_thread(ScriptDirectory.from_config, alembic_config("sqlite://"))


async def test_migrations_from_empty_to_heads_and_back(empty_url: str) -> None:
    store = await Store.open(empty_url)
    try:
        assert await store.schema_revisions() == set()
        await store.migrate()
        script = await _script()
        heads = set(script.get_heads())
        # Every branch (service desk, recordings, ...) grows from the store's first revision.
        initial = script.get_revision("0001_initial")
        assert initial is not None
        assert initial.down_revision is None
        assert all("0001_initial" in _ancestry(script, head) for head in heads)
        assert await store.schema_revisions() == heads
        await store.migrate()  # a second run is a no-op
        assert await store.schema_revisions() == heads

        await asyncio.to_thread(import_table_modules)
        async with store.engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
            diffs = await connection.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
            )
        assert tables >= STORE_TABLES
        # Every package's tables (registry.TABLE_MODULES) must match what the migrations made.
        assert diffs == [], "a model and its migration disagree"

        await asyncio.to_thread(downgrade_to_base, empty_url)
        async with store.engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert not tables & STORE_TABLES
    finally:
        await store.close()


async def test_nodes_migrating_at_once_all_succeed(empty_url: str) -> None:
    # Separate processes, as separate nodes would be, plus two stores in this one. Each
    # imports first and then waits for a common instant, so the migrations really overlap.
    start_at = time.time() + 4
    code = (
        "import sys, time\n"
        "from sessions.store.migrate import upgrade_to_heads\n"
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\n"
        "upgrade_to_heads(sys.argv[1])\n"
    )
    processes = [
        await asyncio.create_subprocess_exec(sys.executable, "-c", code, empty_url, str(start_at))
        for _ in range(3)
    ]
    stores = [await Store.open(empty_url) for _ in range(2)]
    try:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        await asyncio.gather(*(store.migrate() for store in stores))
        assert [await p.wait() for p in processes] == [0, 0, 0]
        heads = set((await _script()).get_heads())
        assert [await store.schema_revisions() for store in stores] == [heads, heads]
        ticket = await open_ticket(stores[0], who())
        assert await stores[1].get_ticket(ticket.id) == ticket
    finally:
        for store in stores:
            await store.close()


def _ancestry(script: ScriptDirectory, head: str) -> set[str]:
    """The revisions from ``head`` down to the base."""
    return {rev.revision for rev in script.iterate_revisions(head, "base")}


# ---- tickets: create, get, list ----------------------------------------------------------


async def test_create_get_round_trip(store: Store) -> None:
    requester = who()
    created = await open_ticket(
        store,
        requester,
        description="E-203 after self-test",
        device=Device("Infusomat Space", "SN-1"),
        patient="patient-1",
        targets={"squat": {"target_angle": 90, "reps": 10}},
        now=T0 + timedelta(microseconds=123_456),
    )
    assert created.status is S.OPEN
    assert created.version == 1
    assert created.deadlines == POLICY.deadlines_for(Tier.URGENT, created.created_at)
    fetched = await store.get_ticket(created.id)
    assert fetched == created
    assert fetched.created_at.tzinfo is UTC
    timeline = await store.list_timeline(created.id)
    assert [(e.seq, e.action, e.actor) for e in timeline] == [(1, "created", requester)]
    assert timeline[0].data["tier"] == "urgent"


async def test_instants_in_other_zones_are_stored_as_utc(store: Store) -> None:
    shanghai = timezone(timedelta(hours=8))
    created = await open_ticket(store, who(), now=datetime(2025, 6, 2, 16, 0, tzinfo=shanghai))
    fetched = await store.get_ticket(created.id)
    assert fetched.created_at == T0
    assert fetched.created_at.utcoffset() == timedelta(0)


async def test_unknown_ids_are_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        await store.get_ticket("tkt_missing")
    with pytest.raises(NotFoundError):
        await store.list_timeline("tkt_missing")
    with pytest.raises(NotFoundError):
        await store.transition_ticket("tkt_missing", S.ASSIGNED, actor="x", now=T0, policy=POLICY)
    with pytest.raises(NotFoundError):
        await store.append_timeline("tkt_missing", actor="x", action="note", now=T0)


async def test_list_filters(store: Store) -> None:
    requester, other = who(), who()
    urgent = await open_ticket(store, requester, patient="pat-a")
    routine = await open_ticket(store, requester, tier=Tier.ROUTINE, assignee="exp-1")
    await store.transition_ticket(routine.id, S.ASSIGNED, actor="exp-1", now=T0, policy=POLICY)
    foreign = await open_ticket(store, other, patient=requester)

    async def ids(**filters: object) -> set[str]:
        page, _ = await store.list_tickets(limit=100, **filters)  # type: ignore[arg-type]
        return {t.id for t in page}

    assert await ids(requester=requester) == {urgent.id, routine.id}
    assert await ids(requester=requester, tier=Tier.ROUTINE) == {routine.id}
    assert await ids(requester=requester, status=S.OPEN) == {urgent.id}
    assert await ids(requester=requester, status=[S.OPEN, S.ASSIGNED]) == {urgent.id, routine.id}
    assert await ids(requester=requester, kind=TicketKind.CONSULTATION) == set()
    assert await ids(requester=requester, assignee="exp-1") == {routine.id}
    assert await ids(patient="pat-a", requester=requester) == {urgent.id}
    assert await ids(party=requester) == {urgent.id, routine.id, foreign.id}


@pytest.mark.parametrize("newest_first", [True, False])
async def test_keyset_pagination_is_complete_and_stable(store: Store, newest_first: bool) -> None:
    requester = who()
    # Three share an instant, so ties are broken by id.
    stamps = [T0, T0, T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)] + [
        T0 + timedelta(hours=h) for h in range(1, 4)
    ]
    created = [await open_ticket(store, requester, now=at) for at in stamps]
    expected = sorted(created, key=lambda t: (t.created_at, t.id), reverse=newest_first)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page, cursor = await store.list_tickets(
            requester=requester, limit=3, cursor=cursor, newest_first=newest_first
        )
        pages += 1
        seen += [t.id for t in page]
        if cursor is None:
            break
        # A ticket created between pages lands before or after, never duplicated.
    assert seen == [t.id for t in expected]
    assert pages == 3


async def test_bad_list_arguments(store: Store) -> None:
    with pytest.raises(ValidationError):
        await store.list_tickets(limit=0)
    with pytest.raises(ValidationError):
        await store.list_tickets(cursor="not-a-cursor")


# ---- tickets: update ---------------------------------------------------------------------


async def test_update_records_old_and_new(store: Store) -> None:
    ticket = await open_ticket(store, who())
    later = T0 + timedelta(minutes=5)
    updated = await store.update_ticket(
        ticket.id,
        {
            "title": "Pump E-203",
            "device": {"model": "Infusomat", "serial": "SN-2"},
            "language": "de",
        },
        actor="exp-1",
        now=later,
        expected_version=1,
    )
    assert (updated.title, updated.device, updated.version) == (
        "Pump E-203",
        Device("Infusomat", "SN-2"),
        2,
    )
    assert updated.updated_at == later
    assert await store.get_ticket(ticket.id) == updated
    entry = (await store.list_timeline(ticket.id))[-1]
    assert entry.action == "updated"
    assert entry.data["changes"] == {
        "title": {"old": "Infusion pump alarms on start", "new": "Pump E-203"},
        "device": {"old": None, "new": {"model": "Infusomat", "serial": "SN-2"}},
    }


async def test_update_with_stale_version_writes_nothing(store: Store) -> None:
    ticket = await open_ticket(store, who())
    await store.update_ticket(ticket.id, {"title": "first"}, actor="a", now=T0, expected_version=1)
    before = await store.get_ticket(ticket.id)
    timeline = await store.list_timeline(ticket.id)
    with pytest.raises(ConflictError):
        await store.update_ticket(
            ticket.id, {"title": "second"}, actor="b", now=T0, expected_version=1
        )
    assert await store.get_ticket(ticket.id) == before
    assert await store.list_timeline(ticket.id) == timeline


async def test_update_refuses_fields_that_are_not_editable(store: Store) -> None:
    ticket = await open_ticket(store, who())
    for changes in ({"status": "closed"}, {"version": 9}, {"title": ""}, {"tier": "gold"}):
        with pytest.raises(ValidationError):
            await store.update_ticket(ticket.id, changes, actor="a", now=T0)
    assert await store.get_ticket(ticket.id) == ticket
    assert len(await store.list_timeline(ticket.id)) == 1


async def test_update_without_changes_writes_nothing(store: Store) -> None:
    ticket = await open_ticket(store, who())
    same = await store.update_ticket(ticket.id, {"title": ticket.title}, actor="a", now=T0)
    assert same == ticket
    assert len(await store.list_timeline(ticket.id)) == 1


async def test_tier_change_recomputes_deadlines(store: Store) -> None:
    ticket = await open_ticket(store, who())
    with pytest.raises(ValidationError):
        await store.update_ticket(ticket.id, {"tier": "routine"}, actor="a", now=T0)
    updated = await store.update_ticket(
        ticket.id, {"tier": Tier.ROUTINE}, actor="a", now=T0 + timedelta(hours=1), policy=POLICY
    )
    assert updated.deadlines == POLICY.deadlines_for(Tier.ROUTINE, ticket.created_at)
    changes = (await store.list_timeline(ticket.id))[-1].data["changes"]
    assert set(changes) == {"tier", "deadlines"}


# ---- tickets: transitions ----------------------------------------------------------------


async def test_lifecycle_sets_sla_timestamps(store: Store) -> None:
    ticket = await open_ticket(store, who())

    async def move(target: TicketStatus, minutes: int) -> Ticket:
        at = T0 + timedelta(minutes=minutes)
        return await store.transition_ticket(
            ticket.id, target, actor="exp-1", now=at, policy=POLICY, note=f"to {target}"
        )

    assigned = await move(S.ASSIGNED, 10)
    assert assigned.first_response_at == T0 + timedelta(minutes=10)
    in_session = await move(S.IN_SESSION, 20)
    assert in_session.first_response_at == assigned.first_response_at
    resolved = await move(S.RESOLVED, 60)
    assert resolved.resolved_at == T0 + timedelta(minutes=60)
    assert resolved.deadlines.callback_due_at == T0 + timedelta(hours=3)
    done = await move(S.CALLBACK_DONE, 90)
    assert done.callback_done_at == T0 + timedelta(minutes=90)
    closed = await move(S.CLOSED, 100)
    assert closed.closed_at == T0 + timedelta(minutes=100)
    assert closed.version == 6
    assert await store.get_ticket(ticket.id) == closed
    moves = [e.data for e in await store.list_timeline(ticket.id) if e.action == "status_changed"]
    assert [(m["from"], m["to"]) for m in moves] == [
        ("open", "assigned"),
        ("assigned", "in_session"),
        ("in_session", "resolved"),
        ("resolved", "callback_done"),
        ("callback_done", "closed"),
    ]
    assert moves[0]["note"] == "to assigned"


async def test_reopening_restarts_the_resolution_clock(store: Store) -> None:
    ticket = await open_ticket(store, who())
    for target in (S.ASSIGNED, S.RESOLVED):
        await store.transition_ticket(ticket.id, target, actor="e", now=T0, policy=POLICY)
    reopened = await store.transition_ticket(
        ticket.id, S.OPEN, actor="e", now=T0 + timedelta(hours=1), policy=POLICY
    )
    assert reopened.resolved_at is None
    assert reopened.deadlines.callback_due_at is None
    assert reopened.deadlines.resolution_due_at == ticket.deadlines.resolution_due_at
    assert reopened.first_response_at == T0


async def test_refused_transition_writes_nothing(store: Store) -> None:
    ticket = await open_ticket(store, who())
    with pytest.raises(InvalidTransitionError) as info:
        await store.transition_ticket(ticket.id, S.CLOSED, actor="e", now=T0, policy=POLICY)
    assert info.value.current == "open"
    assert "open" in str(info.value)
    assert await store.get_ticket(ticket.id) == ticket
    assert len(await store.list_timeline(ticket.id)) == 1


async def test_a_failure_after_the_ticket_write_rolls_everything_back(store: Store) -> None:
    requester = who()
    ticket = await open_ticket(store, requester)
    # No actor: the ticket row is written, then the timeline row violates NOT NULL.
    no_actor = cast(str, None)
    with pytest.raises(IntegrityError):
        await store.transition_ticket(ticket.id, S.ASSIGNED, actor=no_actor, now=T0, policy=POLICY)
    assert await store.get_ticket(ticket.id) == ticket
    with pytest.raises(IntegrityError):
        await store.create_ticket(
            kind=TicketKind.CONSULTATION,
            tier=Tier.CONSULT,
            title="half-written?",
            requester=requester,
            language="en",
            actor=no_actor,
            now=T0,
            policy=POLICY,
        )
    page, _ = await store.list_tickets(requester=requester)
    assert [t.id for t in page] == [ticket.id]


async def test_concurrent_transitions_from_the_same_status_one_wins(store: Store) -> None:
    ticket = await open_ticket(store, who())
    results = await asyncio.gather(
        *(
            store.transition_ticket(ticket.id, S.ASSIGNED, actor=f"exp-{n}", now=T0, policy=POLICY)
            for n in range(6)
        ),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, Ticket)]
    losers = [r for r in results if not isinstance(r, Ticket)]
    assert len(winners) == 1
    assert all(isinstance(e, InvalidTransitionError) and e.current == "assigned" for e in losers)
    final = await store.get_ticket(ticket.id)
    assert (final.status, final.version) == (S.ASSIGNED, 2)
    timeline = await store.list_timeline(ticket.id)
    assert [e.action for e in timeline] == ["created", "status_changed"]


async def test_concurrent_appends_keep_seq_dense(store: Store) -> None:
    ticket = await open_ticket(store, who())
    await asyncio.gather(
        *(
            store.append_timeline(
                ticket.id, actor="media", action="session_joined", data={"n": n}, now=T0
            )
            for n in range(12)
        )
    )
    timeline = await store.list_timeline(ticket.id)
    assert [e.seq for e in timeline] == list(range(1, 14))
    assert sorted(e.data["n"] for e in timeline[1:]) == list(range(12))


async def test_timeline_data_is_made_json(store: Store) -> None:
    ticket = await open_ticket(store, who())
    entry = await store.append_timeline(
        ticket.id,
        actor="rec",
        action="recording_ready",
        data={"at": T0, "tier": Tier.URGENT, "length": timedelta(seconds=90)},
        now=T0,
    )
    assert entry.data == {"at": T0.isoformat(), "tier": "urgent", "length": 90.0}
    assert (await store.list_timeline(ticket.id))[-1] == entry
    with pytest.raises(ValidationError):
        await store.append_timeline(ticket.id, actor="x", action="x", data={"o": object()}, now=T0)


# ---- users, sessions, audit --------------------------------------------------------------


async def test_users_upsert_keeps_created_at(store: Store) -> None:
    identity = who()
    first = await store.upsert_user(
        identity=identity, display_name="Li Wei", role="patient", language="zh-CN", now=T0
    )
    second = await store.upsert_user(
        identity=identity,
        display_name="Li Wei (Beijing)",
        role="patient",
        language="zh-CN",
        email="li@example.org",
        now=T0 + timedelta(days=1),
    )
    assert second.created_at == first.created_at == T0
    assert (second.display_name, second.email) == ("Li Wei (Beijing)", "li@example.org")
    assert await store.get_user(identity) == second
    assert identity in {u.identity for u in await store.list_users(role="patient")}
    assert identity not in {u.identity for u in await store.list_users(role="expert")}
    with pytest.raises(NotFoundError):
        await store.get_user("nobody-" + identity)


async def test_session_records(store: Store) -> None:
    ticket = await open_ticket(store, who())
    record = await store.create_session_record(
        ticket_id=ticket.id,
        kind="guided_exercise",
        created_by="trainer-sam",
        recording_policy="skeleton_only",
        now=T0,
    )
    assert record.state == "created"
    started = await store.update_session_record(
        record.id, state="active", started_at=T0 + timedelta(minutes=1), node="node-a"
    )
    ended = await store.update_session_record(
        record.id, state="closed", ended_at=T0 + timedelta(minutes=31)
    )
    assert (started.node, ended.node, ended.started_at) == ("node-a", "node-a", started.started_at)
    assert await store.get_session_record(record.id) == ended
    assert await store.list_session_records(ticket.id) == [ended]
    with pytest.raises(NotFoundError):
        await store.create_session_record(ticket_id="tkt_missing", kind="x", created_by="y", now=T0)
    with pytest.raises(ConflictError):
        await store.create_session_record(
            ticket_id=ticket.id, kind="x", created_by="y", now=T0, session_id=record.id
        )
    with pytest.raises(NotFoundError):
        await store.update_session_record("ses_missing", state="active")


async def test_audit_log(store: Store) -> None:
    object_id = "rec_" + uuid.uuid4().hex
    first = await store.audit(
        actor="sup-1",
        action="recording.viewed",
        object_type="recording",
        object_id=object_id,
        data={"link_expires_at": T0},
        request_id="req-1",
        now=T0,
    )
    second = await store.audit(
        actor="exp-1",
        action="recording.viewed",
        object_type="recording",
        object_id=object_id,
        now=T0,
    )
    assert second.id > first.id
    assert first.data == {"link_expires_at": T0.isoformat()}
    assert await store.list_audit(object_type="recording", object_id=object_id) == [first, second]
    assert await store.list_audit(object_id=object_id, actor="exp-1") == [second]


async def test_close_is_idempotent_and_final(store: Store) -> None:
    await store.ping()
    await store.close()
    await store.close()
    with pytest.raises(InvalidStateError):
        await store.get_ticket("tkt_any")


async def test_naive_times_are_refused(store: Store) -> None:
    with pytest.raises(ValidationError):
        await open_ticket(store, who(), now=datetime(2025, 6, 2, 8, 0))


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    store = await Store.open(await _migrated(f"sqlite+aiosqlite:///{tmp_path}/wal.sqlite3"))
    try:
        async with store.engine.connect() as connection:
            mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
            keys = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar()
        assert (mode, keys) == ("wal", 1)
        # Foreign keys are enforced: a session of an unknown ticket cannot be written.
        async with store.sessionmaker.begin() as session:
            session.add(
                LiveSessionRow(
                    id="ses_orphan",
                    ticket_id="tkt_missing",
                    kind="x",
                    state="created",
                    created_at=T0,
                    created_by="y",
                    recording_policy="off",
                )
            )
            with pytest.raises(IntegrityError):
                await session.flush()
    finally:
        await store.close()


def test_unsupported_database_urls_are_refused() -> None:
    for url in ("sqlite:///x.db", "postgresql://localhost/x", "mysql+aiomysql://h/x", "nonsense"):
        with pytest.raises(ValidationError):
            create_engine_for(url)
