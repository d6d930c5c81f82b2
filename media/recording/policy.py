"""What a session may record: nothing, metrics only, or full media."""

from __future__ import annotations

from enum import StrEnum


class RecordingPolicy(StrEnum):
    """The per-session recording policy, chosen when the session is created."""

    OFF = "off"
    """Nothing is recorded."""
    METRICS_ONLY = "metrics_only"
    """Landmarks, analysis events, annotations and chat; never audio or video."""
    FULL = "full"
    """Everything in METRICS_ONLY plus the encoded media of consenting participants."""

    @property
    def records_media(self) -> bool:
        """Whether audio and video are written under this policy."""
        return self is RecordingPolicy.FULL

    @property
    def records_timeline(self) -> bool:
        """Whether the manifest and timeline are written under this policy."""
        return self is not RecordingPolicy.OFF
