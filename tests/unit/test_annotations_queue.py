"""The serial queue behind the annotation feature's video work: order, failures, close."""

from __future__ import annotations

import asyncio

import pytest

from signaling.annotation_queue import Job, SerialQueue


async def test_jobs_run_one_at_a_time_in_order_and_a_failure_does_not_stop_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = SerialQueue("test")
    trace: list[str] = []

    def job(name: str, fail: bool = False) -> Job:
        async def run() -> None:
            trace.append(f"{name}+")
            await asyncio.sleep(0.01)
            trace.append(f"{name}-")
            if fail:
                raise RuntimeError(name)

        return run

    done = [queue.submit(job("a")), queue.submit(job("b", fail=True)), queue.submit(job("c"))]
    assert queue.pending == 3
    await asyncio.wait_for(asyncio.gather(*done), 5)
    assert trace == ["a+", "a-", "b+", "b-", "c+", "c-"]
    assert "a job failed" in caplog.text
    await queue.close()
    await queue.close()
    late = queue.submit(job("d"))
    assert late.cancelled()
    assert trace[-1] == "c-"
