"""Domain errors, each with a stable ``code``; signaling/problems.py maps them to the wire."""

from __future__ import annotations

from typing import Any


class TeleGuideError(Exception):
    """Base class of every error TeleGuide raises on purpose."""

    code = "internal_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ValidationError(TeleGuideError):
    """Input that does not satisfy a schema or a domain rule."""

    code = "invalid_input"


class NotFoundError(TeleGuideError):
    """A referenced object does not exist (or is not visible to the caller)."""

    code = "not_found"


class InvalidStateError(TeleGuideError):
    """An operation that the object's current state does not allow."""

    code = "invalid_state"


class InvalidTransitionError(InvalidStateError):
    """A state transition that is not in the object's transition table."""

    code = "invalid_transition"

    def __init__(self, kind: str, current: str, target: str) -> None:
        super().__init__(
            f"cannot move {kind} from {current} to {target}",
            current=current,
            target=target,
        )
        self.current = current
        self.target = target


class ConflictError(TeleGuideError):
    """A write that lost a race (stale version) or violates uniqueness."""

    code = "conflict"


class AuthenticationError(TeleGuideError):
    """Missing, malformed, tampered or expired credentials."""

    code = "unauthenticated"


class PermissionDeniedError(TeleGuideError):
    """Valid credentials whose grants do not allow the operation."""

    code = "forbidden"


class LimitExceededError(TeleGuideError):
    """A configured limit (rate, size, capacity) was reached."""

    code = "limit_exceeded"
