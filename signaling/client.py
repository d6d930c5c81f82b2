"""The Python client of TeleGuide: signaling over ``websockets`` and media with aiortc.

Tests and benchmarks use it, and so can devices that stream without a browser::

    async with TeleGuideClient("ws://host:8080/ws", token) as client:
        joined = await client.join(session_id)
        await client.publish([camera_track])
        received = await client.subscribe(client.producer_ids(exclude_self=True))
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import websockets
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)

log = logging.getLogger(__name__)


class ClientError(Exception):
    """The server answered a command with an error."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}


@dataclass
class Subscription:
    """A receive transport and the tracks it carries, by producer id."""

    transport_id: str
    consumer_ids: list[str]
    tracks: dict[str, MediaStreamTrack] = field(default_factory=dict)


class TeleGuideClient:
    """One participant's connection to a TeleGuide server."""

    def __init__(
        self, url: str, token: str, *, reply_timeout_s: float = 15.0, relay_only: bool = False
    ) -> None:
        self.url = url
        self.token = token
        self.reply_timeout_s = reply_timeout_s
        self.relay_only = relay_only
        self.participant_id: str | None = None
        self.session: dict[str, Any] = {}
        self.ice_servers: list[dict[str, Any]] = []
        self.producers: dict[str, dict[str, Any]] = {}
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.publisher_pc: Any = None
        self.subscriptions: list[Subscription] = []
        self._subscriber_pcs: list[Any] = []
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._producers_changed = asyncio.Event()

    async def __aenter__(self) -> TeleGuideClient:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- signaling -----------------------------------------------------------------------

    async def connect(self) -> dict[str, Any]:
        """Open the WebSocket and authenticate; returns the ``auth_ok`` message."""
        self._ws = await websockets.connect(self.url, max_size=2**20)
        await self._ws.send(json.dumps({"type": "auth", "token": self.token}))
        first = json.loads(await asyncio.wait_for(self._ws.recv(), self.reply_timeout_s))
        if first.get("type") != "auth_ok":
            await self._ws.close()
            raise ClientError("unauthenticated", first.get("message", "auth failed"))
        self._reader = asyncio.create_task(self._read(), name="teleguide-client-reader")
        return dict(first)

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                self._on_message(json.loads(raw))
        except websockets.ConnectionClosed:
            pass
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ClientError("disconnected", "connection closed"))
            self.events.put_nowait({"type": "disconnected"})

    def _on_message(self, message: dict[str, Any]) -> None:
        message_id = message.get("id")
        if message_id is not None and "ok" in message:
            future = self._pending.pop(message_id, None)
            if future is not None and not future.done():
                future.set_result(message)
            return
        self._track_producers(message)
        for listener in self._listeners:
            listener(message)
        self.events.put_nowait(message)

    def _track_producers(self, message: dict[str, Any]) -> None:
        if message.get("type") == "producer_added":
            producer = message["producer"]
            self.producers[producer["id"]] = producer
        elif message.get("type") == "producer_removed":
            self.producers.pop(message["producer_id"], None)
        else:
            return
        self._producers_changed.set()

    def on_event(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Call ``listener`` with every server event as it arrives."""
        self._listeners.append(listener)

    async def request(self, type_: str, **fields: Any) -> dict[str, Any]:
        """Send a command and return its reply; raises ClientError on an error reply."""
        message_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        await self._ws.send(json.dumps({"id": message_id, "type": type_, **fields}))
        reply = await asyncio.wait_for(future, self.reply_timeout_s)
        if not reply.get("ok"):
            error = reply.get("error", {})
            raise ClientError(
                error.get("code", "error"), error.get("message", ""), error.get("details")
            )
        return reply

    async def wait_for(
        self,
        type_: str,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        within_s: float = 15.0,
    ) -> dict[str, Any]:
        """The next server event of ``type_`` (matching ``predicate``); others are dropped."""
        async with asyncio.timeout(within_s):
            while True:
                event = await self.events.get()
                if event.get("type") == type_ and (predicate is None or predicate(event)):
                    return event

    # -- session -------------------------------------------------------------------------

    async def join(self, session_id: str, name: str | None = None) -> dict[str, Any]:
        """Join a session; remembers its participants and producers."""
        fields: dict[str, Any] = {"session_id": session_id}
        if name:
            fields["name"] = name
        reply = await self.request("join", **fields)
        self.participant_id = reply["participant_id"]
        self.session = reply["session"]
        self.ice_servers = reply["ice_servers"]
        self.producers = {p["id"]: p for p in self.session["producers"]}
        return reply

    def producer_ids(self, *, kind: str | None = None, exclude_self: bool = True) -> list[str]:
        """Known producers, optionally of one kind, by default not our own."""
        return [
            pid
            for pid, p in self.producers.items()
            if (kind is None or p["kind"] == kind)
            and not (exclude_self and p["participant_id"] == self.participant_id)
        ]

    async def wait_for_producers(self, count: int, within_s: float = 15.0) -> list[str]:
        """Wait until at least ``count`` producers of others are known; return their ids."""
        async with asyncio.timeout(within_s):
            while len(self.producer_ids()) < count:
                self._producers_changed.clear()
                await self._producers_changed.wait()
        return self.producer_ids()

    async def publish(self, tracks: list[MediaStreamTrack]) -> dict[str, Any]:
        """Send tracks to the session; returns the reply with their producer ids."""
        pc = self._peer_connection()
        for track in tracks:
            pc.addTransceiver(track, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        reply = await self.request("publish", sdp=pc.localDescription.sdp)
        await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
        self.publisher_pc = pc
        return reply

    async def subscribe(self, producer_ids: list[str]) -> Subscription:
        """Receive producers; the returned tracks are keyed by producer id."""
        reply = await self.request("subscribe", producer_ids=producer_ids)
        pc = self._peer_connection()
        await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "offer"))
        subscription = Subscription(reply["transport_id"], reply["consumer_ids"])
        for producer_id, transceiver in zip(producer_ids, pc.getTransceivers(), strict=False):
            subscription.tracks[producer_id] = transceiver.receiver.track
        await pc.setLocalDescription(await pc.createAnswer())
        await self.request(
            "answer", transport_id=reply["transport_id"], sdp=pc.localDescription.sdp
        )
        self._subscriber_pcs.append(pc)
        self.subscriptions.append(subscription)
        return subscription

    def _peer_connection(self) -> RTCPeerConnection:
        """A peer connection with the session's ICE servers (max-bundle: one transport)."""
        servers = [
            RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
            for s in self.ice_servers
        ]
        policy = RTCIceTransportPolicy.RELAY if self.relay_only else RTCIceTransportPolicy.ALL
        return RTCPeerConnection(
            RTCConfiguration(
                iceServers=servers,
                bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
                iceTransportPolicy=policy,
            )
        )

    async def chat(self, text: str) -> dict[str, Any]:
        """Send a chat message."""
        return await self.request("chat", text=text)

    async def leave(self) -> None:
        """Leave the session for good."""
        await self.request("leave")
        await self._close_media()

    async def drop(self) -> None:
        """Cut the link without leaving (as a lost network would): media and socket go."""
        await self._close_media()
        if self._ws is not None:
            self._ws.transport.abort()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._reader, 5)

    async def _close_media(self) -> None:
        pcs = [self.publisher_pc, *self._subscriber_pcs]
        self.publisher_pc, self._subscriber_pcs = None, []
        for pc in pcs:
            if pc is not None:
                await pc.close()

    async def close(self) -> None:
        """Close media and the WebSocket."""
        await self._close_media()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._reader, 5)
