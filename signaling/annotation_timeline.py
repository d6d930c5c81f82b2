"""The annotation events' entries on the ticket timeline, written in order, off the hot path.

Each numbered event gets one compact entry (action ``annotation``) with its seq, type,
producer and media time: what the recording needs to replay the marks over the video. A
store write costs about 25 ms of wall time and 5 ms of event-loop CPU on the team machine
whether it holds one entry or many, so entries wait in a queue and everything waiting is
written in one transaction; while an ``anchor_moved`` entry is still waiting, a newer
position of the same mark (same visibility) replaces it instead of queueing behind it.
Every other event is written, each in sequence order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from annotations.events import AnnotationEvent, EventType

log = logging.getLogger(__name__)

#: Timeline action of every numbered annotation event.
TIMELINE_ACTION = "annotation"

AppendMany = Callable[[list[tuple[str, str, dict[str, Any]]]], Awaitable[None]]


@dataclass(slots=True)
class _Entry:
    actor: str
    action: str
    data: dict[str, Any]


class AnnotationTimeline:
    """Writes timeline entries one after the other; pending anchor positions coalesce."""

    def __init__(self, append: AppendMany) -> None:
        self._append = append
        self._pending: list[_Entry] = []
        self._anchor_slots: dict[str, _Entry] = {}
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.written = 0
        self.coalesced = 0

    def add_event(self, event: AnnotationEvent) -> None:
        """Queue the entry of a numbered event (the pointer has none)."""
        if event.seq is None:
            return
        entry = _Entry(event.identity or "system", TIMELINE_ACTION, timeline_entry(event))
        if event.type is EventType.ANCHOR_MOVED:
            mark_id = entry.data["mark_id"]
            slot = self._anchor_slots.get(mark_id)
            if slot is not None and slot.data["visible"] == entry.data["visible"]:
                slot.data = entry.data  # a newer position of a mark whose entry still waits
                self.coalesced += 1
                return
            self._anchor_slots[mark_id] = entry
        self._queue(entry)

    def add(self, actor: str, action: str, data: dict[str, Any]) -> None:
        """Queue any timeline entry, after those already queued."""
        self._queue(_Entry(actor, action, data))

    def _queue(self, entry: _Entry) -> None:
        self._pending.append(entry)
        self._idle.clear()
        self._wakeup.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def drain(self) -> None:
        """Wait until everything queued so far is written."""
        await self._idle.wait()

    async def close(self) -> None:
        """Write what is queued, then stop; idempotent."""
        await self.drain()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                # Everything waiting goes in one transaction: a store write costs about the
                # same for one entry or for a burst of them.
                batch, self._pending = self._pending, []
                for entry in batch:
                    mark_id = entry.data.get("mark_id")
                    if isinstance(mark_id, str) and self._anchor_slots.get(mark_id) is entry:
                        del self._anchor_slots[mark_id]  # written now: later ones queue anew
                try:
                    await self._append([(e.actor, e.action, e.data) for e in batch])
                    self.written += len(batch)
                except Exception:  # the timeline must never take the session down
                    log.exception("%d timeline entries could not be written", len(batch))
            self._idle.set()


def timeline_entry(event: AnnotationEvent) -> dict[str, Any]:
    """The compact timeline form of a numbered event: what the recording needs to replay it."""
    data = dict(event.data)
    if event.type is EventType.MARK_ADDED:
        mark = data.pop("mark")
        shape = {k: v for k, v in mark["shape"].items() if k not in {"producer_id", "media_time_s"}}
        data |= {"mark_id": mark["mark_id"], "shape": shape}
    elif event.type is EventType.ANCHOR_MOVED:
        data.pop("points", None)  # the homography maps the mark's own points
    return {
        "seq": event.seq,
        "type": event.type.value,
        "participant_id": event.participant_id,
        "producer_id": event.producer_id,
        "media_time_s": event.media_time_s,
        **data,
    }
