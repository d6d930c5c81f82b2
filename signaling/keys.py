"""Typed keys for what the application and each request carry."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from signaling.auth import Principal
    from signaling.rooms import RoomManager
    from signaling.services import Services
    from signaling.ws.commands import CommandDispatcher

SERVICES_KEY: web.AppKey[Services] = web.AppKey("services")
"""The composed services of the node (store, auth, policy, ...)."""

ROOMS_KEY: web.AppKey[RoomManager] = web.AppKey("rooms")
"""The live rooms of the node."""

DISPATCHER_KEY: web.AppKey[CommandDispatcher] = web.AppKey("dispatcher")
"""Runs signaling commands."""

OPEN_SOCKETS_KEY: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("open_sockets")
"""Open WebSockets, closed with GOING_AWAY on shutdown."""

OPENAPI_KEY: web.AppKey[dict[str, Any]] = web.AppKey("openapi")
"""The generated OpenAPI document."""

PRINCIPAL_KEY: web.RequestKey[Principal] = web.RequestKey("principal")
"""Request key: the authenticated Principal, absent on anonymous requests."""

REQUEST_ID_KEY: web.RequestKey[str] = web.RequestKey("request_id")
"""Request key: the id of the request, echoed in X-Request-Id and in every log line."""
