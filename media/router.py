"""Router: the media of one live session; publishers' tracks forwarded to subscribers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiortc import RTCSessionDescription

from media.consumer import Consumer
from media.events import (
    ConsumerClosed,
    ProducerAdded,
    ProducerPaused,
    ProducerRemoved,
    RouterEvent,
    TransportStateChanged,
)
from media.ice import IceServer
from media.producer import Producer
from media.tap import capability_for, check_aiortc_version, negotiated_codec, restrict_to_codec
from media.transport import PeerTransport, TransportDirection
from sessions.exceptions import InvalidStateError, NotFoundError, ValidationError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublishResult:
    """The answer to a publisher's offer."""

    answer_sdp: str
    "SDP answer, with the server's ICE candidates."
    transport_id: str
    "The new publish transport."
    producer_ids: list[str]
    "One producer per offered send track, in m-line order."


@dataclass(frozen=True)
class SubscribeResult:
    """A server offer carrying the requested producers."""

    offer_sdp: str
    "SDP offer, with the server's ICE candidates; answer with accept_answer()."
    transport_id: str
    "The new subscribe transport."
    consumer_ids: list[str]
    "One consumer per requested producer, in request order."


class Router:
    """One per live session: owns its transports, producers and consumers."""

    def __init__(
        self,
        session_id: str,
        ice_servers: list[IceServer] | None = None,
        *,
        pli_interval_s: float = 1.0,
    ) -> None:
        check_aiortc_version()
        self.session_id = session_id
        self.ice_servers = ice_servers
        self.pli_interval_s = pli_interval_s
        self.closed = False
        self._transports: dict[str, PeerTransport] = {}
        self._producers: dict[str, Producer] = {}
        self._consumers: dict[str, Consumer] = {}
        self._consumer_transports: dict[str, PeerTransport] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._callbacks: list[Callable[[RouterEvent], None]] = []

    def on_event(self, callback: Callable[[RouterEvent], None]) -> None:
        """Call ``callback`` with every RouterEvent."""
        self._callbacks.append(callback)

    def _emit(self, event: RouterEvent) -> None:
        for callback in list(self._callbacks):
            callback(event)

    def _check_open(self) -> None:
        if self.closed:
            raise InvalidStateError(f"router of session {self.session_id} is closed")

    # --- publishing ---------------------------------------------------------------------

    async def publish(self, participant_id: str, offer_sdp: str) -> PublishResult:
        """Accept a client-offered send-only connection; one producer per incoming track."""
        self._check_open()
        transport = self._new_transport(participant_id, TransportDirection.PUBLISH)
        try:
            await transport.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            producers = self._create_producers(transport)
            await transport.pc.setLocalDescription(await transport.pc.createAnswer())
        except ValueError as exc:
            await transport.close()
            raise ValidationError(f"cannot accept the offer: {exc}") from exc
        for producer in producers:
            self._emit(ProducerAdded(producer.id, participant_id, producer.kind, producer.codec))
        return PublishResult(
            transport.pc.localDescription.sdp, transport.id, [p.id for p in producers]
        )

    def _create_producers(self, transport: PeerTransport) -> list[Producer]:
        producers = []
        for transceiver in transport.pc.getTransceivers():
            if transceiver.receiver.track is None:
                continue  # the client offered nothing to send on this m-line
            codec = negotiated_codec(transceiver)
            restrict_to_codec(transceiver, codec)
            producer = Producer(
                transport.participant_id,
                transceiver.kind,
                codec,
                transceiver.receiver,
                pli_interval_s=self.pli_interval_s,
            )
            producer._add_close_callback(self._on_producer_closed)
            transport.add_producer(producer)
            self._producers[producer.id] = producer
            producers.append(producer)
        return producers

    def _on_producer_closed(self, producer: Producer) -> None:
        self._producers.pop(producer.id, None)
        for consumer in [c for c in self._consumers.values() if c.producer is producer]:
            consumer.close()
        self._emit(ProducerRemoved(producer.id, producer.participant_id))

    # --- subscribing --------------------------------------------------------------------

    async def subscribe(self, participant_id: str, producer_ids: list[str]) -> SubscribeResult:
        """Offer a server-to-client connection carrying the given producers."""
        self._check_open()
        if not producer_ids:
            raise ValidationError("subscribe needs at least one producer id")
        producers = [self.producer(pid) for pid in producer_ids]
        transport = self._new_transport(participant_id, TransportDirection.SUBSCRIBE)
        consumers = [self._create_consumer(transport, p) for p in producers]
        await transport.pc.setLocalDescription(await transport.pc.createOffer())
        return SubscribeResult(
            transport.pc.localDescription.sdp, transport.id, [c.id for c in consumers]
        )

    def _create_consumer(self, transport: PeerTransport, producer: Producer) -> Consumer:
        transceiver = transport.pc.addTransceiver(producer.kind, direction="sendonly")
        transceiver.setCodecPreferences(capability_for(producer.codec_parameters))
        consumer = Consumer(transport.participant_id, producer, transceiver.sender)
        # The transport forgets the consumer first, so the router sees it emptied.
        transport.add_consumer(consumer)
        consumer._add_close_callback(self._on_consumer_closed)
        self._consumers[consumer.id] = consumer
        self._consumer_transports[consumer.id] = transport
        return consumer

    def _on_consumer_closed(self, consumer: Consumer) -> None:
        self._consumers.pop(consumer.id, None)
        transport = self._consumer_transports.pop(consumer.id, None)
        self._emit(ConsumerClosed(consumer.id, consumer.participant_id, consumer.producer.id))
        if transport is not None and not transport.consumers and not transport.closing:
            # A subscription batch with nothing left to send has no further use.
            task = asyncio.get_running_loop().create_task(transport.close())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def accept_answer(self, transport_id: str, answer_sdp: str) -> None:
        """Apply the subscriber's answer to a server offer."""
        transport = self._transport(transport_id)
        if transport.direction is not TransportDirection.SUBSCRIBE:
            raise InvalidStateError(f"transport {transport_id} is a publish transport")
        try:
            await transport.pc.setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))
        except ValueError as exc:
            raise ValidationError(f"cannot accept the answer: {exc}") from exc

    async def add_ice_candidate(
        self, transport_id: str, candidate: dict[str, object] | None
    ) -> None:
        """Add a client's trickled candidate (browser format); None = end of candidates."""
        await self._transport(transport_id).add_ice_candidate(candidate)

    async def unsubscribe(self, participant_id: str, consumer_ids: list[str]) -> None:
        """Close the participant's consumers; a subscribe transport left empty closes too."""
        consumers = [self.consumer(cid) for cid in consumer_ids]
        for consumer in consumers:
            if consumer.participant_id != participant_id:
                raise NotFoundError(f"consumer {consumer.id} not found", consumer_id=consumer.id)
        for consumer in consumers:
            consumer.close()
        await self._settle()

    async def _settle(self) -> None:
        """Wait for the transport closes that closing consumers started."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- producers ----------------------------------------------------------------------

    def producers(self) -> list[Producer]:
        """Every open producer of the session."""
        return list(self._producers.values())

    def producer(self, producer_id: str) -> Producer:
        """Return a producer, e.g. to observe its packets or frames."""
        producer = self._producers.get(producer_id)
        if producer is None:
            raise NotFoundError(f"producer {producer_id} not found", producer_id=producer_id)
        return producer

    def consumer(self, consumer_id: str) -> Consumer:
        """Return a consumer."""
        consumer = self._consumers.get(consumer_id)
        if consumer is None:
            raise NotFoundError(f"consumer {consumer_id} not found", consumer_id=consumer_id)
        return consumer

    def pause_producer(self, producer_id: str) -> None:
        """Mute a producer: its consumers stop receiving (producer_paused)."""
        if self.producer(producer_id).pause():
            self._emit(ProducerPaused(producer_id, paused=True))

    def resume_producer(self, producer_id: str) -> None:
        """Unmute a producer: its consumers resume from the next keyframe."""
        if self.producer(producer_id).resume():
            self._emit(ProducerPaused(producer_id, paused=False))

    # --- transports and lifecycle -------------------------------------------------------

    def _new_transport(self, participant_id: str, direction: TransportDirection) -> PeerTransport:
        transport = PeerTransport(participant_id, direction, self.ice_servers)
        transport.on_state_change(self._on_transport_state)
        self._transports[transport.id] = transport
        return transport

    def _on_transport_state(self, transport: PeerTransport) -> None:
        if transport.closed:
            self._transports.pop(transport.id, None)
        self._emit(
            TransportStateChanged(transport.id, transport.participant_id, transport.state.value)
        )

    def _transport(self, transport_id: str) -> PeerTransport:
        transport = self._transports.get(transport_id)
        if transport is None:
            raise NotFoundError(f"transport {transport_id} not found", transport_id=transport_id)
        return transport

    def transport(self, transport_id: str) -> PeerTransport:
        """Return a transport (state, producers, consumers)."""
        return self._transport(transport_id)

    def _participant_transports(self, participant_id: str) -> list[PeerTransport]:
        return [t for t in self._transports.values() if t.participant_id == participant_id]

    async def close_participant(self, participant_id: str) -> None:
        """Close the participant's transports, its producers (with their consumers) and its
        consumers."""
        for transport in self._participant_transports(participant_id):
            await transport.close()
        await self._settle()

    async def close(self) -> None:
        """Close every transport; idempotent."""
        if self.closed:
            return
        self.closed = True
        for transport in list(self._transports.values()):
            await transport.close()
        await self._settle()
        logger.info("router of session %s closed", self.session_id)
