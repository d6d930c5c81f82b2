"""Serving recording files: which file a request names, and its bytes (ranges, decryption).

Only files the manifest lists (and the manifest itself) can be named, so a request cannot
walk out of the recording's directory; a recording still being written is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from media.recording.crypto import DecryptingReader
from media.recording.errors import RecordingInProgressError
from media.recording.manifest import MANIFEST_NAME, read_manifest
from media.recording.ranges import ByteRange
from media.recording.state import FINAL_STATES
from sessions.exceptions import NotFoundError

CHUNK = 64 * 1024
#: Names of finished annotated exports, kept beside the tracks (``exp_....mp4``).
EXPORT_NAME = re.compile(r"^exp_[A-Za-z0-9_-]{1,60}\.mp4$")


@dataclass(frozen=True, slots=True)
class ServedFile:
    """A recording file ready to be sent."""

    path: Path
    """Where it is on disk."""
    name: str
    """Its name in the manifest, as the download should be called (without ``.enc``)."""
    size: int
    """Plaintext size in bytes (what Content-Length and ranges refer to)."""
    content_type: str
    """MIME type."""
    encrypted: bool
    """Whether the bytes on disk must be decrypted."""


def resolve_file(directory: Path, file: str, key: bytes | None = None) -> ServedFile:
    """Find a finished recording's file by its manifest name (blocking: reads the disk)."""
    manifest = read_manifest(directory)
    if manifest.state not in FINAL_STATES:
        raise RecordingInProgressError(
            f"recording {manifest.recording_id} is still being written; try again when it ends"
        )
    if file == MANIFEST_NAME:
        path = directory / MANIFEST_NAME
        return ServedFile(path, file, path.stat().st_size, "application/json", False)
    if EXPORT_NAME.match(file) and (directory / file).is_file():
        # An export appears under its final name only once it is complete.
        path = directory / file
        return ServedFile(path, file, path.stat().st_size, "video/mp4", False)
    track = next((t for t in manifest.tracks if t.file == file), None)
    if track is None or not (directory / track.file).is_file():
        raise NotFoundError(f"recording {manifest.recording_id} has no file {file!r}")
    path = directory / track.file
    content_type = f"{track.kind}/webm"
    name = track.file.removesuffix(".enc")
    if not track.encrypted:
        return ServedFile(path, name, path.stat().st_size, content_type, False)
    if key is None:
        raise NotFoundError("the recording is encrypted and no key is configured")
    return ServedFile(path, name, DecryptingReader(path, key).size, content_type, True)


def read_file(
    served: ServedFile, byte_range: ByteRange | None = None, key: bytes | None = None
) -> Iterator[bytes]:
    """Yield the plaintext bytes of ``served`` (a range, or all of it) (blocking reads)."""
    start = byte_range.start if byte_range else 0
    end = byte_range.end if byte_range else served.size - 1
    if served.encrypted:
        assert key is not None
        yield from DecryptingReader(served.path, key).read_range(start, end)
        return
    with served.path.open("rb") as handle:
        handle.seek(start)
        remaining = end - start + 1
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk
