"""Short-lived signed links to recording files: HMAC-SHA256 over what, who and until when.

A link is good for one file of one recording, for one viewer, until its expiry. The
signature is checked before the expiry, so a tampered link is reported as forged even when
its (tampered) expiry is still in the future, and an honest old link as expired.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

from media.recording.errors import LinkExpiredError, LinkForgedError
from sessions.exceptions import ValidationError

DEFAULT_TTL = timedelta(minutes=5)
MAX_TTL = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class SignedLink:
    """The fields of a signed link; ``url`` renders it."""

    recording_id: str
    """The recording."""
    file: str
    """File name inside the recording (``manifest.json``, ``trk_....webm``)."""
    viewer: str
    """Identity of the person the link was issued to."""
    expires: int
    """Expiry, Unix seconds."""
    signature: str
    """Hex HMAC-SHA256."""

    def query(self) -> dict[str, str]:
        """Return the query parameters that carry the link."""
        return {"exp": str(self.expires), "viewer": self.viewer, "sig": self.signature}

    def url(self, prefix: str = "/api/recordings") -> str:
        """Render the link as a path with its query string."""
        path = f"{prefix}/{quote(self.recording_id)}/files/{quote(self.file)}"
        return f"{path}?{urlencode(self.query())}"


def _signature(key: bytes, recording_id: str, file: str, viewer: str, expires: int) -> str:
    # Newline-separated with a version tag: no field can shift into another.
    message = "\n".join(("tg-rec-link-v1", recording_id, file, viewer, str(expires)))
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def sign_link(
    key: bytes,
    recording_id: str,
    file: str,
    viewer: str,
    now: datetime,
    ttl: timedelta = DEFAULT_TTL,
) -> SignedLink:
    """Issue a link to one file for one viewer, valid for ``ttl`` (at most an hour)."""
    if not key:
        raise ValidationError("a link signing key is required")
    if not timedelta(0) < ttl <= MAX_TTL:
        raise ValidationError(f"link lifetime must be between 0 and {MAX_TTL}")
    expires = int((now + ttl).timestamp())
    sig = _signature(key, recording_id, file, viewer, expires)
    return SignedLink(recording_id, file, viewer, expires, sig)


def verify_link(
    key: bytes,
    recording_id: str,
    file: str,
    viewer: str,
    expires: str | int,
    signature: str,
    now: datetime,
) -> None:
    """Raise LinkForgedError or LinkExpiredError unless the link is genuine and current.

    ``viewer`` is the identity of whoever presents the link (from their token), so a link
    passed on to someone else fails as forged.
    """
    try:
        expiry = int(expires)
    except (TypeError, ValueError):
        raise LinkForgedError("malformed link expiry") from None
    expected = _signature(key, recording_id, file, viewer, expiry)
    if not hmac.compare_digest(expected, signature):
        raise LinkForgedError("link signature does not match", recording_id=recording_id)
    if now.timestamp() >= expiry:
        raise LinkExpiredError("link has expired", recording_id=recording_id, expired=expiry)
