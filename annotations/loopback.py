"""A minimal WebSocket endpoint around an AnnotationRoom, for the benchmark and the tests.

Not the product route: it has no authentication (the participant's identity and grants come
from the query string) and serves one room. The product's ``/ws`` in ``signaling`` does the
same three things after its auth phase: ``room.join`` then a writer task draining the
subscriber, ``room.handle`` per command with errors mapped to replies, ``room.leave``.

Protocol, as in docs/protocol.md: the client sends ``{"id": n, "type": "annotate",
"annotation": {...}}`` and gets ``{"id": n, "ok": true, "seq": last_seq}`` or ``{"id": n,
"ok": false, "error": {"code": ..., "message": ...}}``; server events carry no id:
``{"type": "annotation", "annotation": event}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from annotations.actor import Actor
from annotations.fanout import Subscriber
from annotations.room import AnnotationRoom
from sessions.exceptions import TeleGuideError, ValidationError

logger = logging.getLogger(__name__)

ROOM_KEY = web.AppKey("annotation_room", AnnotationRoom)


def create_loopback_app(room: AnnotationRoom) -> web.Application:
    """Return an aiohttp app serving ``room`` at ``/ws``."""
    app = web.Application()
    app[ROOM_KEY] = room
    app.router.add_get("/ws", _websocket)
    app.on_shutdown.append(_close_room)
    return app


def actor_from_query(query: Any) -> Actor:
    """Build the actor from ``?participant=&identity=&role=&annotate=1&moderate=1``."""
    participant = query.get("participant", "")
    return Actor(
        participant_id=participant,
        identity=query.get("identity", participant),
        role=query.get("role", "expert"),
        can_annotate=query.get("annotate") == "1",
        can_moderate=query.get("moderate") == "1",
    )


async def _close_room(app: web.Application) -> None:
    """Close every subscriber so the writer tasks end and sockets close."""
    app[ROOM_KEY].close()


async def _websocket(request: web.Request) -> web.WebSocketResponse:
    """Serve one participant: a writer task for the queue, this task for commands."""
    room = request.app[ROOM_KEY]
    actor = actor_from_query(request.query)
    ws = web.WebSocketResponse(heartbeat=20)
    await ws.prepare(request)
    subscriber = room.join(actor)
    writer = asyncio.create_task(_write(ws, subscriber))
    try:
        async for message in ws:
            if message.type is WSMsgType.TEXT:
                subscriber.offer(_reply(room, actor, message.data))
    finally:
        room.leave(subscriber)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
    return ws


async def _write(ws: web.WebSocketResponse, subscriber: Subscriber[str]) -> None:
    """Send queued messages in order; close the socket when the participant fell behind."""
    async for text in subscriber:
        await ws.send_str(text)
    if subscriber.close_reason == "overflow":
        await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow: reconnect")
    else:
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"room closed")


def _reply(room: AnnotationRoom, actor: Actor, text: str) -> str:
    """Handle one client message and return the reply text."""
    request_id: Any = None
    try:
        envelope = _envelope(text)
        request_id = envelope.get("id")
        _check_envelope(envelope)
        room.handle(actor, envelope.get("annotation") or {})
    except TeleGuideError as exc:
        error = {"code": exc.code, "message": exc.message}
        return json.dumps({"id": request_id, "ok": False, "error": error})
    return json.dumps({"id": request_id, "ok": True, "seq": room.log.seq})


def _envelope(text: str) -> dict[str, Any]:
    """Parse the command envelope."""
    try:
        envelope = json.loads(text)
    except ValueError:
        raise ValidationError("the message is not JSON") from None
    if not isinstance(envelope, dict):
        raise ValidationError("a command must be a JSON object")
    return envelope


def _check_envelope(envelope: dict[str, Any]) -> None:
    """Check the envelope's id and type."""
    if not isinstance(envelope.get("id"), int):
        raise ValidationError("a command needs an integer id")
    if envelope.get("type") != "annotate":
        raise ValidationError(f"unknown command type {envelope.get('type')!r}")
