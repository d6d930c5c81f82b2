"""A serial job queue: coroutines run one at a time, in the order they were submitted.

The annotation feature applies commands synchronously and leaves the slow parts (frames,
stills, disk, timeline) to such queues, so a command is answered at once and the work it
causes still happens in sequence order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class SerialQueue:
    """Runs submitted jobs one after the other on a task of its own."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._queue: asyncio.Queue[tuple[Job, asyncio.Future[None]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def pending(self) -> int:
        """Jobs waiting to start (the running one excluded)."""
        return self._queue.qsize()

    def submit(self, job: Job) -> asyncio.Future[None]:
        """Queue ``job``; the future completes when it has run (a failure is only logged)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        if self._closed:
            done.cancel()
            return done
        self._queue.put_nowait((job, done))
        if self._task is None:
            self._task = loop.create_task(self._run(), name=self.name)
        return done

    async def drain(self) -> None:
        """Wait until every job submitted so far has run."""
        if not self._closed:
            await self.submit(_nothing)

    async def close(self) -> None:
        """Run what is queued, then stop; idempotent."""
        await self.drain()
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            job, done = await self._queue.get()
            try:
                await job()
            except Exception:  # one failed job must not stop the ones behind it
                log.exception("%s: a job failed", self.name)
            if not done.done():
                done.set_result(None)


async def _nothing() -> None:
    """A job that does nothing (drain's marker)."""
