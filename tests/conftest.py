"""Fixtures shared by every layer of the suite."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

pytest_plugins = ["tests.app_fixtures"]

REPO_ROOT = Path(__file__).resolve().parent.parent


def media_dir() -> Path:
    """Where the shared test media lives (TELEGUIDE_MEDIA_DIR, default ../shared/media)."""
    return Path(os.environ.get("TELEGUIDE_MEDIA_DIR", REPO_ROOT.parent / "shared" / "media"))


def media_file(name: str) -> Path:
    """Return a test media file, skipping the test with a reason when it is not there."""
    path = media_dir() / name
    if not path.is_file():
        pytest.skip(f"test media {name} not found in {media_dir()} (set TELEGUIDE_MEDIA_DIR)")
    return path


def port_open(host: str, port: int) -> bool:
    """Tell whether something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip outside CI when a local service is down; fail in CI, where it must run."""
    if port_open(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def postgres_url() -> str:
    """A SQLAlchemy URL of the local PostgreSQL test database."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    return os.environ.get(
        "TELEGUIDE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )


@pytest.fixture
def redis_url() -> str:
    """The URL of the local Redis."""
    require_service("Redis", "127.0.0.1", 6379)
    return os.environ.get("TELEGUIDE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
