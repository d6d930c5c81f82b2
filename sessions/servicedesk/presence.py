"""Expert presence (online, busy, away, offline), kept live by the signaling WebSocket."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

logger = logging.getLogger(__name__)


class Presence(StrEnum):
    """What an expert told the desk (or what their connection implies)."""

    ONLINE = "online"
    BUSY = "busy"
    AWAY = "away"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class PresenceChange:
    """Emitted when an expert's presence actually changes."""

    identity: str
    """The expert."""
    old: Presence
    """Presence before."""
    new: Presence
    """Presence after."""
    at: datetime
    """When."""


class PresenceBoard:
    """Current presence of every expert; unknown experts are offline."""

    def __init__(self) -> None:
        self._state: dict[str, Presence] = {}
        self._since: dict[str, datetime] = {}

    def set(self, identity: str, state: Presence, now: datetime) -> PresenceChange | None:
        """Record a presence; return the change, or None when nothing changed."""
        old = self.get(identity)
        if old is state:
            return None
        logger.info("presence %s: %s -> %s", identity, old.value, state.value)
        self._state[identity] = state
        self._since[identity] = now
        return PresenceChange(identity, old, state, now)

    def get(self, identity: str) -> Presence:
        """The expert's presence (offline if never seen)."""
        return self._state.get(identity, Presence.OFFLINE)

    def since(self, identity: str) -> datetime | None:
        """When the current presence began (None if never seen)."""
        return self._since.get(identity)

    def online(self) -> list[str]:
        """Identities currently online."""
        return [who for who, state in self._state.items() if state is Presence.ONLINE]
