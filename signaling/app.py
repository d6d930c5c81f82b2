"""The aiohttp application, composed in one factory."""

from __future__ import annotations

import importlib
import logging
import weakref
from collections.abc import AsyncIterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from aiohttp import WSCloseCode, web

from sessions.clock import Clock
from signaling.api.openapi import build_openapi
from signaling.api.registry import ApiRegistry
from signaling.config import Settings
from signaling.desk_node import desk_ctx
from signaling.keys import (
    DISPATCHER_KEY,
    OPEN_SOCKETS_KEY,
    OPENAPI_KEY,
    ROOMS_KEY,
    SERVICES_KEY,
)
from signaling.middleware import authenticate, request_context
from signaling.recording_feature import recordings_ctx
from signaling.rooms import RoomManager
from signaling.services import build_services
from signaling.ws.commands import CommandDispatcher
from signaling.ws.endpoint import websocket_handler

log = logging.getLogger(__name__)

WEB_CLIENT_DIR = Path(__file__).resolve().parent.parent / "web_client"


def package_version() -> str:
    """The installed version of the teleguide distribution."""
    try:
        return version("teleguide")
    except PackageNotFoundError:
        return "0.0.0"


#: Modules with a ``register(registry)`` function; features add their endpoints here.
API_MODULES = [
    "signaling.api.health",
    "signaling.api.tickets",
    "signaling.api.live_sessions",
    "signaling.api.progress",
    "signaling.api.demo",
    "signaling.api.attachments",
    "signaling.api.recordings",
    "signaling.api.servicedesk",
    "signaling.api.servicedesk_admin",
]


def api_registry() -> ApiRegistry:
    """All HTTP endpoints of the product, in one registry."""
    registry = ApiRegistry()
    for name in API_MODULES:
        importlib.import_module(name).register(registry)
    return registry


def create_app(settings: Settings, clock: Clock | None = None) -> web.Application:
    """Build the application for one node."""
    services = build_services(settings, clock)
    app = web.Application(
        middlewares=[request_context, authenticate],
        client_max_size=settings.max_body_bytes,
    )
    rooms = RoomManager(services)
    app[SERVICES_KEY] = services
    app[ROOMS_KEY] = rooms
    app[DISPATCHER_KEY] = CommandDispatcher(services, rooms)
    app[OPEN_SOCKETS_KEY] = weakref.WeakSet()
    registry = api_registry()
    registry.install(app)
    app[OPENAPI_KEY] = build_openapi(registry, "TeleGuide API", package_version())
    app.router.add_get("/api/openapi.json", _openapi)
    app.router.add_get("/ws", websocket_handler)
    _install_web_client(app)
    app.cleanup_ctx.append(_services_ctx)
    app.cleanup_ctx.append(recordings_ctx)
    app.cleanup_ctx.append(desk_ctx)  # after the services (store, bus), closed before them
    app.on_shutdown.append(_close_sockets)
    return app


async def _services_ctx(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES_KEY]
    await services.start()
    await app[ROOMS_KEY].close_orphans()
    try:
        yield
    finally:
        await app[ROOMS_KEY].close()
        await services.stop()


async def _close_sockets(app: web.Application) -> None:
    open_sockets = app[OPEN_SOCKETS_KEY]
    for socket in list(open_sockets):
        await socket.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI_KEY])


def _install_web_client(app: web.Application) -> None:
    index = WEB_CLIENT_DIR / "index.html"
    if not index.is_file():
        return

    async def serve_index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(index)

    app.router.add_get("/", serve_index)
    # The emailed survey link (survey_url) opens the browser client's survey page.
    app.router.add_get("/survey/{token}", serve_index)
    app.router.add_static("/static/", WEB_CLIENT_DIR, show_index=False, follow_symlinks=False)
