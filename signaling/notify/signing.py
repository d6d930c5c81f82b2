"""Webhook signatures: HMAC-SHA256 over ``timestamp + "." + body``, sent as ``t=...,v1=...``.

The timestamp is inside the signed text so a captured request cannot be replayed later than
the receiver's tolerance; ``v1`` names the scheme so a second one can be added beside it.
"""

from __future__ import annotations

import hashlib
import hmac

from sessions.exceptions import AuthenticationError

SIGNATURE_HEADER = "X-TeleGuide-Signature"
EVENT_HEADER = "X-TeleGuide-Event"
DELIVERY_HEADER = "X-TeleGuide-Delivery"
#: Receivers should refuse signatures older (or newer) than this many seconds.
DEFAULT_TOLERANCE = 300


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise AuthenticationError("malformed webhook signature header")
    return timestamp, signatures


def verify(
    secret: str, header: str, body: bytes, now: int, tolerance: int = DEFAULT_TOLERANCE
) -> int:
    """Check a signature header (receiver side); return its timestamp or raise."""
    timestamp, signatures = _parse(header)
    if abs(now - timestamp) > tolerance:
        raise AuthenticationError("webhook signature timestamp outside tolerance")
    expected = _digest(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise AuthenticationError("webhook signature does not match")
    return timestamp
