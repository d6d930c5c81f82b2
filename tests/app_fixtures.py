"""App fixtures shared by functional and end-to-end tests: a real node with SQLite in tmp_path."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from sessions.clock import ManualClock, SystemClock
from sessions.grants import Grants, Role
from signaling.app import create_app
from signaling.config import Settings
from signaling.keys import SERVICES_KEY

TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
AiohttpClient = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings of a node that keeps everything in tmp_path."""
    return Settings(data_dir=tmp_path / "data", jwt_secret=TEST_SECRET, reconnect_grace_s=2.0)


@pytest.fixture
def clock() -> ManualClock:
    """A Monday morning in Berlin's business hours, in UTC."""
    return ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))


@pytest.fixture
def app(settings: Settings, clock: ManualClock) -> web.Application:
    """The application under test."""
    return create_app(settings, clock)


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[TestServer]:
    """The node on a real loopback port with the wall clock (grace periods run for real)."""
    test_server = TestServer(create_app(settings, SystemClock()))
    await test_server.start_server()
    yield test_server
    await test_server.close()


@pytest.fixture
async def client(app: web.Application, aiohttp_client: AiohttpClient) -> TestClient[Any, Any]:
    """An HTTP client of the running app."""
    return await aiohttp_client(app)


class TokenFactory:
    """Mints tokens with the app's issuer."""

    def __init__(self, app: web.Application) -> None:
        self._issuer = app[SERVICES_KEY].issuer

    def __call__(
        self, identity: str, role: Role | str, *, grants: Grants | None = None, ttl_s: int = 600
    ) -> str:
        """A token for ``identity``."""
        return self._issuer.mint(identity, Role(role), grants=grants, ttl_s=ttl_s)

    def headers(self, identity: str, role: Role | str, **kwargs: Any) -> dict[str, str]:
        """Authorization headers for ``identity``."""
        return {"Authorization": f"Bearer {self(identity, role, **kwargs)}"}


@pytest.fixture
def tokens(app: web.Application) -> TokenFactory:
    """Token minting for the app under test."""
    return TokenFactory(app)
