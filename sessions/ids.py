"""Opaque, prefixed, URL-safe identifiers (``tkt_3fJ9...``) so a log line tells what an id names."""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    """Return a new random id such as ``ses_Q2x...`` (96 bits of randomness)."""
    return f"{prefix}_{secrets.token_urlsafe(12)}"
