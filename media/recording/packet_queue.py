"""A bounded hand-over of encoded packets from the event loop to a writer thread.

``put`` never blocks: media must not wait for a slow disk. When the queue is full it drops
the oldest packets, and then keeps dropping up to the next keyframe, because a video frame
that follows a dropped one cannot be decoded until the next keyframe anyway.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import av


@dataclass(frozen=True, slots=True)
class QueuedPacket:
    """One encoded frame waiting to be written."""

    packet: av.Packet
    """The encoded frame, in its producer's time base."""
    keyframe: bool
    """Whether it can be decoded on its own (always true for audio)."""


class PacketQueue:
    """Thread-safe, bounded, drop-oldest-to-keyframe queue."""

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self.dropped = 0
        self._items: deque[QueuedPacket] = deque()
        self._cond = threading.Condition()
        self._closed = False
        # Set after a drop emptied the queue: what follows is useless until a keyframe.
        self._await_keyframe = False

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def put(self, item: QueuedPacket) -> bool:
        """Enqueue without blocking; return False if the item (or older ones) was dropped."""
        with self._cond:
            if self._closed:
                return False
            if self._await_keyframe and not item.keyframe:
                self.dropped += 1
                return False
            self._await_keyframe = False
            intact = True
            if len(self._items) >= self.maxsize:
                self._drop_to_keyframe()
                intact = False
                if not self._items and not item.keyframe:
                    # Everything it depends on is gone: wait for the next keyframe.
                    self._await_keyframe = True
                    self.dropped += 1
                    return False
            self._items.append(item)
            self._cond.notify()
            return intact

    def get(self, timeout: float | None = None) -> QueuedPacket | None:
        """Dequeue the oldest item; None once closed and drained, or on timeout."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._items or self._closed, timeout):
                return None
            return self._items.popleft() if self._items else None

    def close(self) -> None:
        """Refuse new items; ``get`` drains what is left, then returns None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _drop_to_keyframe(self) -> None:
        self._items.popleft()
        self.dropped += 1
        while self._items and not self._items[0].keyframe:
            self._items.popleft()
            self.dropped += 1
