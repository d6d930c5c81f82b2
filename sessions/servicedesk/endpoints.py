"""Webhook endpoints: where events go, which events, and the secret that signs them."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sessions.exceptions import ValidationError
from sessions.ids import new_id

#: Event families the desk emits; an endpoint subscribes to names, ``family.*`` or ``*``.
EVENT_FAMILIES = frozenset({"ticket", "session", "recording", "survey", "complaint", "callback"})


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """A receiver of signed webhook events."""

    url: str
    """``https://...`` (``http://`` allowed for local receivers)."""
    secret: str
    """Shared HMAC key; shown once at creation."""
    events: frozenset[str]
    """Subscriptions: ``ticket.escalated``, ``ticket.*`` or ``*``."""
    id: str = field(default_factory=lambda: new_id("whk"))
    """``whk_...``."""
    active: bool = True
    """Inactive endpoints receive nothing new."""
    description: str = ""
    """What the receiver is."""

    def wants(self, event_type: str) -> bool:
        """Tell whether this endpoint subscribes to ``event_type``."""
        if not self.active:
            return False
        family = event_type.split(".", 1)[0]
        return bool({"*", f"{family}.*", event_type} & self.events)


def _check_subscription(name: str) -> str:
    family, _, rest = name.partition(".")
    if name == "*" or (family in EVENT_FAMILIES and rest):
        return name
    raise ValidationError(
        f"unknown event subscription {name!r}; use '*', 'family.*' or 'family.event' "
        f"with a family in {sorted(EVENT_FAMILIES)}"
    )


def make_endpoint(
    url: str, events: Iterable[str], secret: str | None = None, description: str = ""
) -> WebhookEndpoint:
    """A validated endpoint; a strong secret is generated when none is given."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"webhook URL must be http(s) with a host, got {url!r}")
    subscriptions = frozenset(_check_subscription(e) for e in events)
    if not subscriptions:
        raise ValidationError("a webhook endpoint needs at least one event subscription")
    if secret is not None and len(secret) < 16:
        raise ValidationError("a webhook secret needs at least 16 characters")
    return WebhookEndpoint(
        url, secret or secrets.token_urlsafe(32), subscriptions, description=description
    )
