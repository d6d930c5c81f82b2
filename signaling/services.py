"""The node's composed services, built from Settings; their async parts open in ``start()``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from media.analysis.live import AnalysisScheduler
from media.ice import IceConfig
from media.recording.node import RecordingNode
from sessions.bus import EventBus, InProcessBus, create_bus
from sessions.calendar import BusinessCalendar
from sessions.clock import Clock, SystemClock
from sessions.exceptions import InvalidStateError
from sessions.room_registry import InProcessRoomRegistry, RoomRegistry, create_room_registry
from sessions.sla import SlaPolicy
from sessions.store import Store
from signaling.auth import JwksCache, TokenIssuer, TokenVerifier
from signaling.config import Settings, ensure_jwt_secret
from signaling.metrics import Metrics

if TYPE_CHECKING:
    from signaling.desk_node import DeskNode

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a request handler may use. One instance per application."""

    settings: Settings
    """The configuration the node runs with."""
    clock: Clock
    """Where ``now`` comes from (a ManualClock in restart tests)."""
    policy: SlaPolicy
    """SLA tiers and the business calendar."""
    issuer: TokenIssuer
    """Mints tokens (operators, the demo)."""
    verifier: TokenVerifier
    """Checks tokens."""
    ice: IceConfig
    """STUN/TURN servers handed to clients at join."""
    metrics: Metrics = field(default_factory=Metrics)
    """Prometheus instruments."""
    bus: EventBus = field(default_factory=InProcessBus)
    """Domain events to webhooks, presence and other nodes."""
    room_registry: RoomRegistry = field(default_factory=InProcessRoomRegistry)
    """Which node each live room lives on."""
    desk: DeskNode | None = None
    """The service desk of the node (built on first use)."""
    recordings: RecordingNode | None = None
    """Recordings root, recovery and retention (built on first use)."""
    analysis: AnalysisScheduler | None = None
    """Pose analysis workers shared by every room of the node (None until started)."""
    _store: Store | None = None

    @property
    def store(self) -> Store:
        """The open store."""
        if self._store is None:
            raise InvalidStateError("the store is not open (application not started)")
        return self._store

    @property
    def ready(self) -> bool:
        """Whether the node can serve requests."""
        return self._store is not None

    async def start(self) -> None:
        """Open the store and bring its schema up to date."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        await self.bus.start()
        await self.room_registry.start()
        store = await Store.open(self.settings.resolved_database_url())
        await store.migrate()
        self._store = store
        workers = self.settings.analysis_workers or None
        self.analysis = AnalysisScheduler(workers=workers)
        await self.analysis.start()

    async def stop(self) -> None:
        """Close what ``start`` opened; safe to call twice."""
        analysis, self.analysis = self.analysis, None
        if analysis is not None:
            await analysis.close()
        await self.room_registry.close()
        await self.bus.close()
        store, self._store = self._store, None
        if store is not None:
            await store.close()


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    """Compose the services of one node from its settings."""
    secret = ensure_jwt_secret(settings)
    calendar = BusinessCalendar.from_config(settings.business_calendar)
    jwks = JwksCache(settings.jwks_url) if settings.jwks_url else None
    return Services(
        settings=settings,
        clock=clock or SystemClock(),
        policy=SlaPolicy.from_config(settings.sla, calendar),
        issuer=TokenIssuer(
            secret, settings.jwt_issuer, settings.jwt_audience, settings.token_ttl_s
        ),
        verifier=TokenVerifier(
            secret, settings.jwt_issuer, settings.jwt_audience, settings.jwt_leeway_s, jwks
        ),
        bus=create_bus(settings.redis_url, settings.node_id or "local"),
        room_registry=create_room_registry(settings.redis_url),
        ice=IceConfig(
            stun_urls=settings.stun_urls,
            turn_urls=settings.turn_urls,
            turn_secret=settings.turn_secret or None,
            turn_ttl_s=settings.turn_ttl_s,
        ),
    )
