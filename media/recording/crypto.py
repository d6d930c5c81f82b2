"""Encryption at rest: AES-256-GCM in independent chunks, so files stream and seek.

File layout: a 20-byte header (magic, chunk size, random 8-byte nonce prefix), then chunks
of ``chunk_size`` plaintext bytes, each sealed with its own 16-byte tag. A chunk's nonce is
the prefix plus its index, and its associated data binds the header, the index and a
"last chunk" flag: chunks cannot be reordered, swapped between files or cut off unseen.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
from collections.abc import Iterator
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from media.recording.errors import DecryptionError
from sessions.exceptions import ValidationError

MAGIC = b"TGREC1\x00\x00"
HEADER = struct.Struct(">8sI8s")
TAG = 16
DEFAULT_CHUNK = 64 * 1024
ENCRYPTED_SUFFIX = ".enc"


def key_from_config(value: str) -> bytes:
    """Decode a base64 AES-256 key from configuration (e.g. TELEGUIDE_RECORDING_KEY)."""
    try:
        key = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError("recording key is not valid base64") from None
    if len(key) != 32:
        raise ValidationError("recording key must be 32 bytes (AES-256)")
    return key


def _aad(header: bytes, index: int, last: bool) -> bytes:
    return header + struct.pack(">QB", index, int(last))


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">I", index)


def encrypt_file(src: Path, dst: Path, key: bytes, chunk_size: int = DEFAULT_CHUNK) -> None:
    """Encrypt ``src`` into ``dst`` chunk by chunk (blocking: call from a thread)."""
    aead = AESGCM(key)
    header = HEADER.pack(MAGIC, chunk_size, os.urandom(8))
    prefix = header[-8:]
    with src.open("rb") as reader, dst.open("wb") as writer:
        writer.write(header)
        chunk, index = reader.read(chunk_size), 0
        while True:
            following = reader.read(chunk_size)
            last = not following
            writer.write(aead.encrypt(_nonce(prefix, index), chunk, _aad(header, index, last)))
            if last:
                break
            chunk, index = following, index + 1
        writer.flush()
        os.fsync(writer.fileno())


class DecryptingReader:
    """Reads plaintext byte ranges of an encrypted recording file, one chunk at a time."""

    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        self._aead = AESGCM(key)
        with path.open("rb") as handle:
            self._header = handle.read(HEADER.size)
        if len(self._header) != HEADER.size:
            raise DecryptionError(f"{path.name} is too short to be an encrypted recording")
        magic, self.chunk_size, self._prefix = HEADER.unpack(self._header)
        if magic != MAGIC or self.chunk_size <= 0:
            raise DecryptionError(f"{path.name} is not an encrypted recording")
        body = path.stat().st_size - HEADER.size
        sealed = self.chunk_size + TAG
        self._chunks = max(1, -(-body // sealed))
        self.size = body - self._chunks * TAG
        if self.size < 0:
            raise DecryptionError(f"{path.name} is truncated")

    def read_range(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Yield plaintext bytes ``start..end`` inclusive (whole file by default)."""
        end = self.size - 1 if end is None else min(end, self.size - 1)
        if start > end:
            return
        first, last = start // self.chunk_size, end // self.chunk_size
        with self.path.open("rb") as handle:
            handle.seek(HEADER.size + first * (self.chunk_size + TAG))
            for index in range(first, last + 1):
                plain = self._open_chunk(index, handle.read(self.chunk_size + TAG))
                base = index * self.chunk_size
                yield plain[max(start - base, 0) : end - base + 1]

    def read_all(self) -> bytes:
        """Return the whole plaintext (for small files and tests)."""
        return b"".join(self.read_range())

    def _open_chunk(self, index: int, sealed: bytes) -> bytes:
        last = index == self._chunks - 1
        try:
            return self._aead.decrypt(
                _nonce(self._prefix, index), sealed, _aad(self._header, index, last)
            )
        except InvalidTag:
            raise DecryptionError(
                f"{self.path.name}: chunk {index} fails authentication (tampered, truncated "
                "or another key)"
            ) from None
