"""The recordings of one node: where they live, recovery at start, retention, audit, webhooks.

One RecordingNode per node. ``ready()`` runs recovery once, off the event loop, before any
new recording may start (recovery marks every unfinished manifest interrupted, so it must
never run while this node writes one). ``purge_due()`` is one pass of the retention job;
``run_purge_loop()`` repeats it every ``PURGE_INTERVAL_S``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from media.recording.audit import AuditRecord
from media.recording.export import ExportRunner
from media.recording.manifest import Manifest
from media.recording.recovery import recover_interrupted
from media.recording.repository import RecordingRepository
from media.recording.retention import (
    RecordingInfo,
    RetentionPolicy,
    delete_recording,
    due_for_purge,
)
from media.recording.state import RecordingState
from sessions.bus import EventBus
from sessions.clock import Clock
from sessions.store.recordings_tables import RecordingRow
from sessions.store.repository import Store

log = logging.getLogger(__name__)

#: Seconds between two retention passes (a recording outlives its period by at most this).
PURGE_INTERVAL_S = 3600.0
#: Ticket timeline actions of the recording's life.
READY_ACTION = "recording_ready"
INTERRUPTED_ACTION = "recording_interrupted"
DELETED_ACTION = "recording_deleted"


class RecordingNode:
    """Recordings root, repository, recovery and retention of one node."""

    def __init__(
        self,
        *,
        data_dir: Path,
        store_getter: Callable[[], Store],
        bus: EventBus,
        clock: Clock,
        link_key_source: Callable[[], bytes],
        node_name: str = "local",
        encryption_key: bytes | None = None,
        retention: RetentionPolicy | None = None,
    ) -> None:
        self.data_dir = data_dir
        # One folder per node: recovery on one node never touches another's live files.
        self.root = data_dir / "recordings" / node_name
        self._store_getter = store_getter
        self.bus = bus
        self.clock = clock
        self.encryption_key = encryption_key
        self.retention = retention or RetentionPolicy()
        self._link_key_source = link_key_source
        self.link_key = b""
        self._ready: asyncio.Task[None] | None = None
        self._exports: ExportRunner | None = None

    @property
    def exports(self) -> ExportRunner:
        """The node's annotated-MP4 export jobs (one worker thread: encoding is heavy)."""
        if self._exports is None:
            self._exports = ExportRunner(workers=1, key=self.encryption_key)
        return self._exports

    def close(self) -> None:
        """Stop taking export jobs. Idempotent."""
        if self._exports is not None:
            self._exports.close()

    @property
    def store(self) -> Store:
        """The node's open store."""
        return self._store_getter()

    @property
    def repository(self) -> RecordingRepository:
        """The recording rows (the store opens with the node's services)."""
        return RecordingRepository(self._store_getter())

    def relative(self, directory: Path) -> str:
        """A recording directory as kept in its row (relative to the data directory)."""
        return directory.relative_to(self.data_dir).as_posix()

    def directory_of(self, row: RecordingRow) -> Path:
        """Where a row's files are."""
        return self.data_dir / row.directory

    async def ready(self) -> None:
        """Recover interrupted recordings and derive the link key, once (later calls wait)."""
        if self._ready is None:
            self._ready = asyncio.ensure_future(self._start())
        await asyncio.shield(self._ready)

    async def _start(self) -> None:
        self.link_key = await asyncio.to_thread(self._link_key_source)
        recovered = await asyncio.to_thread(recover_interrupted, self.root, self.encryption_key)
        for manifest in recovered:
            await self.finished(manifest, parties=())
        if recovered:
            log.warning("recovered %d interrupted recording(s)", len(recovered))

    async def finished(self, manifest: Manifest, parties: Iterable[str]) -> None:
        """Store a recording that ended, tell its ticket and the webhooks."""
        directory = self.root / manifest.recording_id
        size = await asyncio.to_thread(_size_of, directory)
        await self.repository.save(manifest, self.relative(directory), parties, size)
        ready = manifest.state is RecordingState.COMPLETE
        action = READY_ACTION if ready else INTERRUPTED_ACTION
        data = {
            "recording_id": manifest.recording_id,
            "session_id": manifest.session_id,
            "state": manifest.state.value,
            "reason": manifest.reason,
            "tracks": len(manifest.tracks),
        }
        await self.timeline(manifest.ticket_id, action, data)
        topic = "recording.ready" if ready else "recording.interrupted"
        await self.bus.publish(topic, {"ticket_id": manifest.ticket_id, **data})

    async def timeline(self, ticket_id: str, action: str, data: dict[str, Any]) -> None:
        """Append to a ticket's timeline; a failure is logged, never raised."""
        try:
            await self._store_getter().append_timeline(
                ticket_id, actor="system", action=action, data=data, now=self.clock.now()
            )
        except Exception:
            log.exception("could not write %s to ticket %s", action, ticket_id)

    async def delete(self, row: RecordingRow, actor: str, reason: str) -> AuditRecord:
        """Remove a finished recording's files; keep the row and audit the removal."""
        now = self.clock.now()
        info = _info(row, self.directory_of(row))
        record = await asyncio.to_thread(delete_recording, info, actor, now, reason)
        await self.repository.mark_deleted(row.id, actor, now)
        await self.repository.audit(record)
        data = {"recording_id": row.id, "reason": reason, "by": actor}
        await self.timeline(row.ticket_id, DELETED_ACTION, data)
        await self.bus.publish("recording.deleted", {"ticket_id": row.ticket_id, **data})
        return record

    async def purge_due(self) -> list[AuditRecord]:
        """One retention pass: delete every recording whose period has run out now."""
        rows = {row.id: row for row in await self.repository.finished()}
        infos = [_info(row, self.directory_of(row)) for row in rows.values()]
        due = due_for_purge(infos, self.retention, self.clock.now())
        return [await self.delete(rows[info.recording_id], "system", "retention") for info in due]

    async def run_purge_loop(self, interval_s: float = PURGE_INTERVAL_S) -> None:
        """Run retention passes forever (cancel to stop); a failed pass is logged."""
        while True:
            try:
                purged = await self.purge_due()
                if purged:
                    log.info("retention purged %d recording(s)", len(purged))
            except Exception:
                log.exception("retention pass failed")
            await asyncio.sleep(interval_s)


def _info(row: RecordingRow, directory: Path) -> RecordingInfo:
    return RecordingInfo(
        recording_id=row.id,
        ticket_id=row.ticket_id,
        ticket_kind=row.ticket_kind,
        state=RecordingState(row.state),
        started_at=row.started_at,
        ended_at=row.ended_at,
        directory=directory,
    )


def _size_of(directory: Path) -> int:
    if not directory.is_dir():
        return 0
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
