"""Opaque keyset cursors over (created_at, id)."""

from __future__ import annotations

import base64
import json
from datetime import datetime

from sessions.exceptions import ValidationError


def encode_cursor(created_at: datetime, item_id: str) -> str:
    """A URL-safe token that resumes a listing after this row."""
    raw = json.dumps([created_at.isoformat(), item_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor stands for; ValidationError for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, item_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        moment = datetime.fromisoformat(created)
    except (ValueError, TypeError) as exc:
        raise ValidationError("invalid cursor", field="cursor") from exc
    if moment.tzinfo is None or not isinstance(item_id, str):
        raise ValidationError("invalid cursor", field="cursor")
    return moment, item_id
