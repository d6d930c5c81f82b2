"""Typed events a Router reports to its owner (the signaling layer)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProducerAdded:
    """A participant started publishing a track."""

    producer_id: str
    "The new producer."
    participant_id: str
    "Who publishes it."
    kind: str
    '"audio" or "video".'
    codec: str
    "Negotiated MIME type, e.g. video/VP8."


@dataclass(frozen=True)
class ProducerRemoved:
    """A producer closed; its consumers closed with it."""

    producer_id: str
    "The closed producer."
    participant_id: str
    "Who published it."


@dataclass(frozen=True)
class ProducerPaused:
    """A producer was muted (paused=True) or unmuted (paused=False)."""

    producer_id: str
    "The producer."
    paused: bool
    "Its new pause flag."


@dataclass(frozen=True)
class TransportStateChanged:
    """A participant's peer transport changed state."""

    transport_id: str
    "The transport."
    participant_id: str
    "Its participant."
    state: str
    "New state: new, connecting, connected, failed or closed."


@dataclass(frozen=True)
class ConsumerClosed:
    """A consumer stopped (unsubscribed, its producer or transport closed)."""

    consumer_id: str
    "The closed consumer."
    participant_id: str
    "The subscriber."
    producer_id: str
    "What it was fed from."


RouterEvent = (
    ProducerAdded | ProducerRemoved | ProducerPaused | TransportStateChanged | ConsumerClosed
)
