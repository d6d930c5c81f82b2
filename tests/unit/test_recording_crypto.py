"""Chunked AES-GCM encryption of recording files."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from media.recording.crypto import DecryptingReader, encrypt_file, key_from_config
from media.recording.errors import DecryptionError
from sessions.exceptions import ValidationError

KEY = bytes(range(32))


def _sealed(tmp_path: Path, data: bytes, chunk: int = 100) -> Path:
    plain, sealed = tmp_path / "plain", tmp_path / "sealed"
    plain.write_bytes(data)
    encrypt_file(plain, sealed, KEY, chunk_size=chunk)
    return sealed


@pytest.mark.parametrize("size", [0, 1, 99, 100, 101, 1000, 1234])
def test_roundtrip(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    reader = DecryptingReader(_sealed(tmp_path, data), KEY)
    assert reader.size == size
    assert reader.read_all() == data


def test_ciphertext_does_not_contain_the_plaintext(tmp_path: Path) -> None:
    data = b"patient video " * 100
    assert b"patient video" not in _sealed(tmp_path, data).read_bytes()


@pytest.mark.parametrize(("start", "end"), [(0, 0), (99, 100), (150, 420), (990, 2000), (5, None)])
def test_ranges_across_chunks(tmp_path: Path, start: int, end: int | None) -> None:
    data = os.urandom(1000)
    reader = DecryptingReader(_sealed(tmp_path, data), KEY)
    stop = None if end is None else end + 1
    assert b"".join(reader.read_range(start, end)) == data[start:stop]


def test_wrong_key_is_refused(tmp_path: Path) -> None:
    reader = DecryptingReader(_sealed(tmp_path, b"x" * 300), bytes(32))
    with pytest.raises(DecryptionError):
        reader.read_all()


def test_tampered_byte_is_detected(tmp_path: Path) -> None:
    sealed = _sealed(tmp_path, b"x" * 300)
    raw = bytearray(sealed.read_bytes())
    raw[150] ^= 1
    sealed.write_bytes(bytes(raw))
    with pytest.raises(DecryptionError):
        DecryptingReader(sealed, KEY).read_all()


def test_truncation_at_a_chunk_boundary_is_detected(tmp_path: Path) -> None:
    sealed = _sealed(tmp_path, b"x" * 300)
    raw = sealed.read_bytes()
    sealed.write_bytes(raw[: 20 + 2 * 116])  # header + two whole chunks of three
    with pytest.raises(DecryptionError):
        DecryptingReader(sealed, KEY).read_all()


def test_not_an_encrypted_file(tmp_path: Path) -> None:
    path = tmp_path / "plain.webm"
    path.write_bytes(b"\x1aE\xdf\xa3" + bytes(100))
    with pytest.raises(DecryptionError):
        DecryptingReader(path, KEY)


def test_key_from_config() -> None:
    assert key_from_config(base64.b64encode(KEY).decode()) == KEY
    with pytest.raises(ValidationError):
        key_from_config(base64.b64encode(b"short").decode())
    with pytest.raises(ValidationError):
        key_from_config("not base64 at all!")
