"""The ``/ws`` route: one SignalingConnection per WebSocket."""

from __future__ import annotations

from aiohttp import web

from signaling.keys import DISPATCHER_KEY, OPEN_SOCKETS_KEY, SERVICES_KEY
from signaling.ws.connection import MAX_MESSAGE_BYTES, SignalingConnection


async def websocket_handler(request: web.Request) -> web.WebSocketResponse:
    """Upgrade to a WebSocket and serve signaling on it."""
    services = request.app[SERVICES_KEY]
    dispatcher = request.app[DISPATCHER_KEY]
    ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES, heartbeat=20.0)
    await ws.prepare(request)
    request.app[OPEN_SOCKETS_KEY].add(ws)
    connection = SignalingConnection(ws, services.verifier, dispatcher)
    connection.on_close.append(dispatcher.connection_closed)
    services.metrics.ws_connections.inc()
    try:
        await connection.run()
    finally:
        services.metrics.ws_connections.dec()
        if connection.dropped_for_slowness:
            services.metrics.ws_slow_disconnects.inc()
    return ws
