"""Ticket attachments on disk: the annotated stills of frozen videos.

Files live under ``data_dir/attachments/<ticket_id>/<attachment_id>.png``. Both ids are
checked against the shape of the ids this server mints before any path is built, so a
request can never name a file outside that tree. Disk work runs in worker threads.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from pathlib import Path

from sessions.exceptions import NotFoundError
from sessions.ids import new_id

PNG = "image/png"
#: ``new_id`` ids: a short prefix, an underscore, URL-safe base64.
_TICKET_ID = re.compile(r"[a-z]{2,8}_[A-Za-z0-9_-]{1,64}")
_ATTACHMENT_ID = re.compile(r"att_[A-Za-z0-9_-]{16}")


@dataclass(frozen=True, slots=True)
class SavedFile:
    """An attachment just written."""

    attachment_id: str
    """``att_...``."""
    size_bytes: int
    """Size of the file."""
    media_type: str
    """MIME type of the content."""


def valid_attachment_id(attachment_id: str) -> bool:
    """Whether ``attachment_id`` has the shape of an id this server mints."""
    return _ATTACHMENT_ID.fullmatch(attachment_id) is not None


class AttachmentFiles:
    """Reads and writes attachment files under one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "attachments"

    def path(self, ticket_id: str, attachment_id: str) -> Path:
        """The file of an attachment; NotFoundError for ids this server cannot have made."""
        if _TICKET_ID.fullmatch(ticket_id) is None or not valid_attachment_id(attachment_id):
            raise NotFoundError(f"no attachment {attachment_id!r} on ticket {ticket_id!r}")
        return self.root / ticket_id / f"{attachment_id}.png"

    async def save_png(self, ticket_id: str, png: bytes) -> SavedFile:
        """Write a PNG as a new attachment of the ticket."""
        attachment_id = new_id("att")
        await asyncio.to_thread(_write, self.path(ticket_id, attachment_id), png)
        return SavedFile(attachment_id, len(png), PNG)

    async def read(self, ticket_id: str, attachment_id: str) -> bytes:
        """The content of an attachment; NotFoundError when there is no such file."""
        path = self.path(ticket_id, attachment_id)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError as exc:
            raise NotFoundError(f"attachment {attachment_id} is missing on disk") from exc


def _write(path: Path, data: bytes) -> None:
    """Write atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(data)
    os.replace(partial, path)
