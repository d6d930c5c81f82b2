"""The writer's hand-over queue and timestamp rebasing."""

from __future__ import annotations

import threading

import av
import pytest

from media.recording.packet_queue import PacketQueue, QueuedPacket
from media.recording.rebase import TimestampRebaser


def _item(index: int, keyframe: bool = False) -> QueuedPacket:
    packet = av.Packet(bytes([index % 256]))
    packet.pts = index
    return QueuedPacket(packet, keyframe)


def _drain(queue: PacketQueue) -> list[int]:
    queue.close()
    out = []
    while (item := queue.get()) is not None:
        out.append(int(item.packet.pts or 0))
    return out


def test_fifo_within_capacity() -> None:
    queue = PacketQueue(4)
    for i in range(3):
        assert queue.put(_item(i, keyframe=i == 0))
    assert _drain(queue) == [0, 1, 2]


def test_full_queue_drops_oldest_up_to_next_keyframe() -> None:
    queue = PacketQueue(4)
    for i, key in enumerate([True, False, True, False]):
        queue.put(_item(i, key))
    assert not queue.put(_item(4))
    # 0 dropped as oldest, 1 because it depends on 0; 2 (a keyframe) is the new head.
    assert _drain(queue) == [2, 3, 4]
    assert queue.dropped == 2


def test_without_a_keyframe_left_waits_for_the_next_one() -> None:
    queue = PacketQueue(2)
    queue.put(_item(0, True))
    queue.put(_item(1))
    # Overflow: 0 goes as oldest, 1 depends on it, and 2 depends on 1: all three go.
    assert not queue.put(_item(2))
    assert len(queue) == 0
    assert not queue.put(_item(3))
    assert queue.put(_item(4, True))
    queue.put(_item(5))
    assert _drain(queue) == [4, 5]
    assert queue.dropped == 4


def test_keyframe_arriving_on_overflow_is_kept() -> None:
    queue = PacketQueue(2)
    queue.put(_item(0, True))
    queue.put(_item(1))
    queue.put(_item(2, True))
    assert _drain(queue) == [2]


def test_put_never_blocks_and_get_wakes_on_close() -> None:
    queue = PacketQueue(1)
    results: list[QueuedPacket | None] = []
    reader = threading.Thread(target=lambda: results.append(queue.get(timeout=5)))
    reader.start()
    queue.close()
    reader.join(5)
    assert results == [None]
    assert not queue.put(_item(1, True))


def test_queue_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="maxsize"):
        PacketQueue(0)


def test_rebase_starts_at_zero_and_crosses_the_32_bit_wrap() -> None:
    rebaser = TimestampRebaser()
    start = (1 << 32) - 3000
    outs = [rebaser.rebase((start + i * 3000) % (1 << 32)) for i in range(4)]
    assert outs == [0, 3000, 6000, 9000]


def test_rebase_drops_frames_that_go_back() -> None:
    rebaser = TimestampRebaser()
    assert rebaser.rebase(1000) == 0
    assert rebaser.rebase(4000) == 3000
    assert rebaser.rebase(2000) is None
    assert rebaser.rebase(4000) is None
    assert rebaser.rebase(7000) == 6000
