"""PeerTransport: one RTCPeerConnection of a participant, with its producers or consumers."""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceCandidate, RTCPeerConnection
from aiortc.sdp import candidate_from_sdp

from media.consumer import Consumer
from media.ice import IceServer
from media.producer import Producer
from sessions.exceptions import ValidationError
from sessions.ids import new_id

logger = logging.getLogger(__name__)


class TransportState(enum.Enum):
    """Aggregate state, derived from the peer connection's ICE and DTLS transports."""

    NEW = "new"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    FAILED = "failed"
    CLOSED = "closed"


class TransportDirection(enum.Enum):
    """Which way media flows between the participant and the server."""

    PUBLISH = "publish"  # client-offered, the server only receives
    SUBSCRIBE = "subscribe"  # server-offered, the server only sends


_FROM_PC = {
    "new": TransportState.NEW,
    "connecting": TransportState.CONNECTING,
    "connected": TransportState.CONNECTED,
    # aiortc never leaves "disconnected" (no ICE restart, aiortc #211): treat it as failed.
    "disconnected": TransportState.FAILED,
    "failed": TransportState.FAILED,
    "closed": TransportState.CLOSED,
}


def parse_candidate(candidate: dict[str, object]) -> RTCIceCandidate:
    """Turn a browser trickle candidate {candidate, sdpMid, sdpMLineIndex} into aiortc's."""
    line = candidate.get("candidate")
    if not isinstance(line, str):
        raise ValidationError("candidate must be a string")
    line = line.removeprefix("a=").removeprefix("candidate:")
    try:
        parsed = candidate_from_sdp(line)
    except (AssertionError, ValueError, IndexError) as exc:
        raise ValidationError(f"malformed ICE candidate: {exc}") from exc
    mid = candidate.get("sdpMid")
    index = candidate.get("sdpMLineIndex")
    parsed.sdpMid = mid if isinstance(mid, str) else None
    parsed.sdpMLineIndex = index if isinstance(index, int) else None
    if parsed.sdpMid is None and parsed.sdpMLineIndex is None:
        raise ValidationError("candidate needs sdpMid or sdpMLineIndex")
    return parsed


class PeerTransport:
    """Wraps one RTCPeerConnection; closing it closes its producers or consumers."""

    def __init__(
        self,
        participant_id: str,
        direction: TransportDirection,
        ice_servers: list[IceServer] | None = None,
    ) -> None:
        self.id = new_id("trp")
        self.participant_id = participant_id
        self.direction = direction
        self.state = TransportState.NEW
        self.producers: dict[str, Producer] = {}
        self.consumers: dict[str, Consumer] = {}
        # One ICE/DTLS transport for every m-line: aiortc's default (balanced) opens one per
        # media kind, and its own answerer then drops the second audio m-line of a batch.
        config = RTCConfiguration(
            iceServers=[s.to_rtc() for s in ice_servers or []],
            bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
        )
        self.pc = RTCPeerConnection(configuration=config)
        self._listeners: list[Callable[[PeerTransport], None]] = []
        self._closing = False
        self.pc.on("connectionstatechange", self._on_pc_state)

    def __repr__(self) -> str:
        return f"PeerTransport({self.id}, {self.direction.value}, {self.state.name})"

    @property
    def closed(self) -> bool:
        """Whether the transport is closed."""
        return self.state is TransportState.CLOSED

    @property
    def closing(self) -> bool:
        """Whether close() has started (children may still be closing)."""
        return self._closing

    def on_state_change(self, listener: Callable[[PeerTransport], None]) -> None:
        """Call ``listener`` after every state change."""
        self._listeners.append(listener)

    def _on_pc_state(self) -> None:
        if not self.closed:
            self._set_state(_FROM_PC[self.pc.connectionState])

    def _set_state(self, state: TransportState) -> None:
        if state is self.state:
            return
        logger.info("%s: %s -> %s", self.id, self.state.name, state.name)
        self.state = state
        if state is TransportState.CONNECTED:
            for consumer in self.consumers.values():
                consumer.start()
        for listener in list(self._listeners):
            listener(self)

    def add_producer(self, producer: Producer) -> None:
        """Adopt a producer created from this transport's receivers."""
        self.producers[producer.id] = producer
        producer._add_close_callback(self._forget_producer)

    def add_consumer(self, consumer: Consumer) -> None:
        """Adopt a consumer sending on this transport."""
        self.consumers[consumer.id] = consumer
        consumer._add_close_callback(self._forget_consumer)
        if self.state is TransportState.CONNECTED:
            consumer.start()

    def _forget_producer(self, producer: Producer) -> None:
        self.producers.pop(producer.id, None)

    def _forget_consumer(self, consumer: Consumer) -> None:
        self.consumers.pop(consumer.id, None)

    async def add_ice_candidate(self, candidate: dict[str, object] | None) -> None:
        """Add a trickled remote candidate; None means the remote finished gathering."""
        if self.closed:
            return
        await self.pc.addIceCandidate(None if candidate is None else parse_candidate(candidate))

    async def close(self) -> None:
        """Close children then the peer connection; idempotent."""
        if self._closing:
            return
        self._closing = True
        for consumer in list(self.consumers.values()):
            consumer.close()
        for producer in list(self.producers.values()):
            await producer.close()
        self._set_state(TransportState.CLOSED)
        await self.pc.close()
