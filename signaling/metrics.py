"""Prometheus metrics of one node, in a registry of its own (several apps can live in one test)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """The node's instruments."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "teleguide_http_requests_total",
            "HTTP requests by route template, method and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "teleguide_http_request_duration_seconds",
            "HTTP request handling time by route template.",
            ["route"],
            registry=self.registry,
        )
        self.ws_connections = Gauge(
            "teleguide_ws_connections", "Open signaling WebSockets.", registry=self.registry
        )
        self.ws_messages = Counter(
            "teleguide_ws_messages_total",
            "Signaling commands received, by type and outcome.",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.ws_slow_disconnects = Counter(
            "teleguide_ws_slow_consumer_disconnects_total",
            "Connections closed because their send queue overflowed.",
            registry=self.registry,
        )
        self.sessions_live = Gauge(
            "teleguide_sessions_live", "Live sessions on this node.", registry=self.registry
        )
        self.participants_live = Gauge(
            "teleguide_participants_live",
            "Participants connected to this node.",
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
