"""Errors of the recording package, built on the shared domain errors (and their wire codes)."""

from __future__ import annotations

from sessions.exceptions import InvalidStateError, PermissionDeniedError, TeleGuideError


class LinkExpiredError(PermissionDeniedError):
    """A signed link whose signature is good but whose expiry has passed (HTTP 403)."""

    code = "link_expired"


class LinkForgedError(PermissionDeniedError):
    """A signed link whose signature does not match its fields (HTTP 403)."""

    code = "link_invalid"


class RangeNotSatisfiableError(TeleGuideError):
    """A byte range outside the file (HTTP 416, with ``Content-Range: bytes */size``)."""

    code = "range_not_satisfiable"

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message, size=size)
        self.size = size


class RecordingInProgressError(InvalidStateError):
    """The recording is still being written; its files cannot be served or exported yet."""

    code = "recording_in_progress"


class DecryptionError(TeleGuideError):
    """An encrypted recording file that is truncated, tampered with or under another key."""

    code = "recording_corrupt"
