"""ICE server configuration: STUN/TURN list from config and TURN REST API credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCIceServer

from sessions.exceptions import ValidationError

DEFAULT_TURN_TTL_S = 3600


@dataclass(frozen=True)
class IceServer:
    """One STUN or TURN server as handed to browsers and to aiortc."""

    urls: list[str]
    "stun:, turn: or turns: URLs."
    username: str | None = None
    "TURN username (for the REST API scheme: '<expiry-unix>:<identity>')."
    credential: str | None = None
    "TURN password."

    def to_rtc(self) -> RTCIceServer:
        """Return the aiortc equivalent."""
        return RTCIceServer(
            urls=list(self.urls), username=self.username, credential=self.credential
        )

    def to_json(self) -> dict[str, Any]:
        """Return the browser RTCIceServer dictionary."""
        data: dict[str, Any] = {"urls": list(self.urls)}
        if self.username is not None:
            data["username"] = self.username
            data["credential"] = self.credential
        return data


def turn_rest_credentials(
    secret: str, identity: str, now_unix: int, ttl_s: int = DEFAULT_TURN_TTL_S
) -> tuple[str, str]:
    """Return (username, password) valid for ``ttl_s`` with coturn's use-auth-secret."""
    if ":" in identity:
        # coturn splits the username on ':' to find the expiry.
        raise ValidationError("TURN identity must not contain ':'", identity=identity)
    username = f"{now_unix + ttl_s}:{identity}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class IceConfig:
    """The ICE part of the server configuration."""

    stun_urls: list[str] = field(default_factory=list)
    "Public STUN servers."
    turn_urls: list[str] = field(default_factory=list)
    "TURN servers sharing one static auth secret."
    turn_secret: str | None = None
    "coturn static-auth-secret; without it TURN URLs are not announced."
    turn_ttl_s: int = DEFAULT_TURN_TTL_S
    "Lifetime of issued TURN credentials."

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> IceConfig:
        """Build from a config dictionary (keys as the field names)."""
        return cls(
            stun_urls=_urls(data.get("stun_urls", [])),
            turn_urls=_urls(data.get("turn_urls", [])),
            turn_secret=data.get("turn_secret"),
            turn_ttl_s=int(data.get("turn_ttl_s", DEFAULT_TURN_TTL_S)),
        )

    def servers_for(self, identity: str, now_unix: int) -> list[IceServer]:
        """Return the ICE servers for one participant, with fresh TURN credentials."""
        servers = [IceServer(urls=self.stun_urls)] if self.stun_urls else []
        if self.turn_urls and self.turn_secret:
            username, password = turn_rest_credentials(
                self.turn_secret, identity, now_unix, self.turn_ttl_s
            )
            servers.append(IceServer(self.turn_urls, username, password))
        return servers


def _urls(value: str | Sequence[str]) -> list[str]:
    urls = [value] if isinstance(value, str) else list(value)
    for url in urls:
        if not url.startswith(("stun:", "turn:", "turns:")):
            raise ValidationError(f"not an ICE server URL: {url}", url=url)
    return urls
