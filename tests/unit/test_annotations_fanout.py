"""Fan-out through bounded per-participant queues: order, slow consumers, close."""

from __future__ import annotations

import asyncio

from annotations.fanout import Fanout, Subscriber, SubscriberState


async def drain(subscriber: Subscriber[int]) -> list[int]:
    """Read a subscriber until it closes."""
    return [item async for item in subscriber]


async def test_each_subscriber_gets_every_item_in_order() -> None:
    fanout: Fanout[int] = Fanout()
    a, b = fanout.subscribe("a"), fanout.subscribe("b")
    for i in range(10):
        fanout.publish(i)
    fanout.close()
    assert await drain(a) == list(range(10))
    assert await drain(b) == list(range(10))


async def test_publish_can_skip_the_sender() -> None:
    fanout: Fanout[int] = Fanout()
    a, b = fanout.subscribe("a"), fanout.subscribe("b")
    fanout.publish(1, exclude="a")
    fanout.close()
    assert await drain(a) == []
    assert await drain(b) == [1]


async def test_slow_subscriber_is_dropped_and_others_keep_receiving() -> None:
    fanout: Fanout[int] = Fanout(maxsize=4)
    slow, fast = fanout.subscribe("slow"), fanout.subscribe("fast")
    received: list[int] = []

    async def read_fast() -> None:
        async for item in fast:
            received.append(item)

    reader = asyncio.create_task(read_fast())
    dropped: list[str] = []
    for i in range(20):
        dropped += fanout.publish(i)
        await asyncio.sleep(0)  # the fast reader keeps up; the slow one never reads
    assert dropped == ["slow"]
    assert slow.state is SubscriberState.CLOSED
    assert slow.close_reason == "overflow"
    assert len(fanout) == 1
    assert await slow.get() is None  # the reader wakes up and sees the end
    fanout.close()
    await reader
    assert received == list(range(20))


async def test_closing_wakes_a_waiting_reader() -> None:
    fanout: Fanout[int] = Fanout()
    subscriber = fanout.subscribe("a")
    reader = asyncio.create_task(subscriber.get())
    await asyncio.sleep(0)
    subscriber.close()
    assert await reader is None
    assert len(fanout) == 0


async def test_close_is_idempotent_and_keeps_the_first_reason() -> None:
    subscriber: Subscriber[int] = Subscriber("a", maxsize=2)
    subscriber.close("left")
    subscriber.close("again")
    assert subscriber.close_reason == "left"
    assert not subscriber.offer(1)


async def test_resubscribing_replaces_the_old_queue() -> None:
    fanout: Fanout[int] = Fanout()
    old = fanout.subscribe("a")
    new = fanout.subscribe("a")
    assert old.close_reason == "replaced"
    fanout.publish(7)
    assert len(fanout) == 1
    fanout.close()
    assert await drain(new) == [7]
    assert await drain(old) == []


async def test_get_nowait_takes_what_is_queued_without_waiting() -> None:
    subscriber: Subscriber[int] = Subscriber("a")
    assert subscriber.get_nowait() is None
    subscriber.offer(1)
    subscriber.offer(2)
    assert [subscriber.get_nowait(), subscriber.get_nowait(), subscriber.get_nowait()] == [
        1,
        2,
        None,
    ]
