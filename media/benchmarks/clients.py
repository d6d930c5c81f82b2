"""The client side of the media benchmarks, in its own process so that its CPU (encoding
the publisher's video, receiving for every subscriber) is not counted as server CPU.

The server process drives it over a multiprocessing pipe with small tuples:
("publish", width, height, fps, detail, vp8_bps) -> ("offer", sdp), then
("answer", sdp) -> ("ok",);
("subscribe", offer_sdp, decode) -> ("answer", sdp); ("stats",) -> ("stats", [TrackStats]);
("direct", width, height, fps, detail, vp8_bps) starts a publisher sending straight to a
subscriber, the baseline with no server;
("close_subscribers",) and ("stop",) -> ("ok",).
"""

from __future__ import annotations

import asyncio
import multiprocessing
from dataclasses import asdict
from multiprocessing.connection import Connection
from typing import Any

from aiortc import MediaStreamTrack
from aiortc.codecs import vpx

from media.loopback import Publisher, Subscriber, TrackStats, start_publisher
from media.synthetic import LoopedVp8Track, StampedVideoTrack, encode_vp8_loop

#: One second at 30 fps: encoding it costs the client a few seconds once.
LOOP_FRAMES = 30


class ClientProcess:
    """The server's handle on the client process."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=run_clients, args=(child,), daemon=True)
        self._process.start()

    async def call(self, *message: Any) -> tuple[Any, ...]:
        """Send a command and wait for its reply (pipe I/O in a thread, off the loop)."""
        await asyncio.to_thread(self._conn.send, message)
        reply: tuple[Any, ...] = await asyncio.to_thread(self._conn.recv)
        if reply[0] == "error":
            raise RuntimeError(f"benchmark client failed: {reply[1]}")
        return reply

    async def stop(self) -> None:
        """Stop the client process."""
        if self._process.is_alive():
            await self.call("stop")
        await asyncio.to_thread(self._process.join, 10)


def run_clients(conn: Connection) -> None:
    """Entry point of the client process."""
    asyncio.run(_Clients(conn).serve())


class _Clients:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.publishers: list[Publisher] = []
        self.subscribers: list[Subscriber] = []
        self.direct: Subscriber | None = None

    async def reply(self, *message: Any) -> None:
        await asyncio.to_thread(self.conn.send, message)

    async def serve(self) -> None:
        while True:
            message = await asyncio.to_thread(self.conn.recv)
            try:
                if not await self.handle(message):
                    break
            except Exception as exc:  # report instead of leaving the server waiting
                await self.reply("error", repr(exc))
        await self.close_all()
        await self.reply("ok")

    async def handle(self, message: tuple[Any, ...]) -> bool:
        command = message[0]
        if command == "stop":
            return False
        if command == "publish":
            track = await _make_track(message)
            self.publishers.append(await start_publisher([track], self.signal))
            await self.reply("ok")
        elif command == "subscribe":
            subscriber = Subscriber(decode=message[2])
            self.subscribers.append(subscriber)
            await self.reply("answer", await subscriber.answer(message[1]))
        elif command == "direct":
            await self.start_direct(message)
            await self.reply("ok")
        elif command == "stats":
            await self.reply("stats", [_stats(s) for s in self.subscribers], self._direct())
        elif command == "close_subscribers":
            for subscriber in self.subscribers:
                await subscriber.close()
            self.subscribers.clear()
            await self.reply("ok")
        return True

    async def signal(self, offer_sdp: str) -> str:
        await self.reply("offer", offer_sdp)
        message = await asyncio.to_thread(self.conn.recv)
        return str(message[1])

    async def start_direct(self, message: tuple[Any, ...]) -> None:
        """A publisher sending straight to a subscriber: the no-server baseline."""
        self.direct = Subscriber(decode=True)
        publisher_pc: list[Publisher] = []

        async def offer_to_answer(offer_sdp: str) -> str:
            # The subscriber answers a publisher's offer directly.
            return await self.direct.answer(offer_sdp)  # type: ignore[union-attr]

        track = await _make_track(message)
        publisher_pc.append(await start_publisher([track], offer_to_answer))
        self.publishers.extend(publisher_pc)

    def _direct(self) -> list[dict[str, Any]]:
        return _stats(self.direct) if self.direct is not None else []

    async def close_all(self) -> None:
        peers: list[Publisher | Subscriber] = [*self.subscribers, *self.publishers]
        for peer in peers:
            await peer.close()
        if self.direct is not None:
            await self.direct.close()


async def _make_track(message: tuple[Any, ...]) -> MediaStreamTrack:
    _, width, height, fps, detail, bitrate_bps = message
    if detail == "loop":
        payloads = await asyncio.to_thread(
            encode_vp8_loop, int(width), int(height), float(fps), int(bitrate_bps), LOOP_FRAMES
        )
        return LoopedVp8Track(payloads, float(fps))
    # Benchmark client only: aiortc's VP8 encoder starts at 500 kbps, well below what a
    # browser sends at 720p; it reads this constant when the sender creates its encoder.
    vpx.DEFAULT_BITRATE = int(bitrate_bps)
    return StampedVideoTrack(int(width), int(height), float(fps), str(detail))


def _stats(subscriber: Subscriber) -> list[dict[str, Any]]:
    return [asdict(t) for t in subscriber.video()]


def track_stats(data: dict[str, Any]) -> TrackStats:
    """Rebuild a TrackStats sent over the pipe (stamps arrive as plain dicts)."""
    return TrackStats(
        kind=data["kind"],
        frames=data["frames"],
        keyframes=data["keyframes"],
        first_is_keyframe=data["first_is_keyframe"],
        latencies_ms=data["latencies_ms"],
        unreadable=data["unreadable"],
    )


class ClientPool:
    """One publisher process and several subscriber processes, so that one client
    process's single core (GIL) never limits what the server is measured forwarding."""

    def __init__(self, subscriber_processes: int) -> None:
        self.publisher = ClientProcess()
        self.viewers = [ClientProcess() for _ in range(max(1, subscriber_processes))]

    def viewer(self, index: int) -> ClientProcess:
        """The process that hosts subscriber ``index`` (round robin)."""
        return self.viewers[index % len(self.viewers)]

    async def video_frames(self) -> list[int]:
        """Encoded video frames received so far by every subscriber, in a stable order."""
        counts: list[int] = []
        for viewer in self.viewers:
            _, subscribers, _ = await viewer.call("stats")
            counts.extend(tracks[0]["frames"] if tracks else 0 for tracks in subscribers)
        return counts

    async def close_subscribers(self) -> None:
        """Close every subscriber peer."""
        for viewer in self.viewers:
            await viewer.call("close_subscribers")

    async def stop(self) -> None:
        """Stop every client process."""
        for process in [self.publisher, *self.viewers]:
            await process.stop()
