"""One signaling WebSocket: the auth phase, then commands, with a bounded send queue.

A client that does not drain its queue is disconnected (close code 4008) instead of making
the server buffer without limit or stall the others it broadcasts to.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from aiohttp import WSMsgType, web
from pydantic import ValidationError as PydanticValidationError

from sessions.exceptions import AuthenticationError, LimitExceededError, TeleGuideError
from sessions.ids import new_id
from signaling.auth import Principal, TokenVerifier
from signaling.problems import ws_error_reply
from signaling.ws.messages import PROTOCOL_VERSION, AuthMessage
from signaling.ws.rate import TokenBucket

log = logging.getLogger(__name__)

AUTH_TIMEOUT_S = 10.0
SEND_QUEUE_SIZE = 512
MAX_MESSAGE_BYTES = 64 * 1024
CLOSE_AUTH_FAILED = 4001
CLOSE_SLOW_CONSUMER = 4008
CLOSE_REMOVED = 4003
CLOSE_AUTH_TIMEOUT = 4002

Dispatcher = Callable[["SignalingConnection", dict[str, Any]], Awaitable[dict[str, Any] | None]]


_FINISHING: set[asyncio.Task[None]] = set()
"""Close sequences still running after their handler was cancelled (kept from the GC)."""


def encode(message: dict[str, Any]) -> str:
    """The wire form of a message: compact JSON."""
    return json.dumps(message, separators=(",", ":"), default=str)


class ConnectionState(StrEnum):
    """Lifecycle of a signaling connection."""

    AUTHENTICATING = "authenticating"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class SignalingConnection:
    """Reads commands, hands them to the dispatcher, and writes replies and events."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        verifier: TokenVerifier,
        dispatch: Dispatcher,
        *,
        commands_per_s: float = 50.0,
        burst: int = 100,
    ) -> None:
        self.id = new_id("con")
        self.ws = ws
        self.principal: Principal | None = None
        self.state = ConnectionState.AUTHENTICATING
        self.on_close: list[Callable[[SignalingConnection], Awaitable[None]]] = []
        self._verifier = verifier
        self._dispatch = dispatch
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(SEND_QUEUE_SIZE)
        self._last_id = 0
        self._bucket = TokenBucket(rate=commands_per_s, burst=burst)
        self._close_code = 1000
        self._close_reason = ""
        self.dropped_for_slowness = False

    def _set_state(self, new: ConnectionState) -> None:
        if new is self.state:
            return
        log.debug("connection %s: %s -> %s", self.id, self.state.value, new.value)
        self.state = new

    # -- sending -----------------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        """Queue a message; never blocks. A full queue disconnects this (slow) client."""
        self.send_text(encode(message))

    def send_text(self, text: str) -> None:
        """Queue an already encoded message (a broadcast encodes once for everyone)."""
        if self.state in {ConnectionState.CLOSING, ConnectionState.CLOSED}:
            return
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            self.dropped_for_slowness = True
            log.warning("connection %s cannot keep up; disconnecting", self.id)
            self.close(CLOSE_SLOW_CONSUMER, "send queue overflow: client too slow")

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Ask the connection to close after what is queued (or at once when slow)."""
        if self.state in {ConnectionState.CLOSING, ConnectionState.CLOSED}:
            return
        self._close_code, self._close_reason = code, reason
        self._set_state(ConnectionState.CLOSING)
        if self.dropped_for_slowness:
            # Do not wait behind a queue the client is not reading.
            asyncio.get_running_loop().create_task(self._close_ws())
        else:
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(None)

    async def _close_ws(self) -> None:
        await self.ws.close(code=self._close_code, message=self._close_reason.encode())

    async def _writer(self) -> None:
        while True:
            text = await self._queue.get()
            if text is None or self.ws.closed:
                break
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                break
        await self._close_ws()

    # -- receiving ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the connection until either side closes it."""
        writer = asyncio.create_task(self._writer(), name=f"ws-writer-{self.id}")
        try:
            if await self._authenticate():
                self._set_state(ConnectionState.OPEN)
                await self._command_loop()
        finally:
            self.close(self._close_code, self._close_reason)
            # A task of its own: when the handler is cancelled (the peer vanished), the close
            # callbacks (grace period, presence) must still run to the end.
            finishing = asyncio.get_running_loop().create_task(self._finish(writer))
            _FINISHING.add(finishing)
            finishing.add_done_callback(_FINISHING.discard)
            await asyncio.shield(finishing)

    async def _finish(self, writer: asyncio.Task[None]) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(writer), timeout=2.0)
        except TimeoutError:
            writer.cancel()
            await self._close_ws()
        self._set_state(ConnectionState.CLOSED)
        for callback in self.on_close:
            try:
                await callback(self)
            except Exception:
                log.exception("close callback of connection %s failed", self.id)

    async def _authenticate(self) -> bool:
        try:
            raw = await self.ws.receive(timeout=AUTH_TIMEOUT_S)
        except TimeoutError:
            self._reject(CLOSE_AUTH_TIMEOUT, "no auth message within 10 s")
            return False
        if raw.type is not WSMsgType.TEXT:
            self._reject(CLOSE_AUTH_FAILED, "first message must be an auth message")
            return False
        try:
            message = AuthMessage.model_validate_json(raw.data)
            self.principal = await self._verifier.verify(message.token)
        except (PydanticValidationError, AuthenticationError) as exc:
            detail = exc.message if isinstance(exc, TeleGuideError) else "malformed auth message"
            self._reject(CLOSE_AUTH_FAILED, detail)
            return False
        self.send(
            {
                "type": "auth_ok",
                "protocol": PROTOCOL_VERSION,
                "identity": self.principal.identity,
                "role": self.principal.role.value,
            }
        )
        return True

    def _reject(self, code: int, message: str) -> None:
        self.send({"type": "auth_invalid", "message": message})
        self.close(code, message)

    async def _command_loop(self) -> None:
        async for raw in self.ws:
            if raw.type is WSMsgType.TEXT:
                await self._handle_text(raw.data)
            elif raw.type is WSMsgType.BINARY:
                self.send(ws_error_reply(None, _protocol_error("binary messages are not used")))
            elif raw.type is WSMsgType.ERROR:
                break
            if self.state is not ConnectionState.OPEN:
                break

    async def _handle_text(self, text: str) -> None:
        message, message_id = self._envelope(text)
        if message is None:
            return
        try:
            reply = await self._dispatch(self, message)
        except Exception as exc:  # every failure becomes an error reply; the connection lives
            self.send(ws_error_reply(message_id, exc))
            return
        if reply is not None:
            self.send({"id": message_id, "ok": True, **reply})

    def _envelope(self, text: str) -> tuple[dict[str, Any] | None, int | None]:
        """Parse and check the envelope; reply with the error and return None when bad."""
        try:
            message = json.loads(text)
        except json.JSONDecodeError as exc:
            self.send(ws_error_reply(None, _protocol_error(f"malformed JSON: {exc}")))
            return None, None
        if not isinstance(message, dict):
            self.send(ws_error_reply(None, _protocol_error("a command must be a JSON object")))
            return None, None
        message_id = message.get("id")
        if not isinstance(message_id, int) or isinstance(message_id, bool) or message_id < 1:
            self.send(ws_error_reply(None, _protocol_error("id must be a positive integer")))
            return None, None
        if message_id <= self._last_id:
            error = _protocol_error(
                f"id {message_id} does not increase (last was {self._last_id})", "id_reused"
            )
            self.send(ws_error_reply(message_id, error))
            return None, None
        self._last_id = message_id
        if not self._bucket.take():
            self.send(ws_error_reply(message_id, LimitExceededError("too many commands")))
            return None, None
        return message, message_id


class ProtocolError(TeleGuideError):
    """A message that breaks the envelope rules."""

    code = "invalid_message"


def _protocol_error(message: str, code: str = "invalid_message") -> ProtocolError:
    error = ProtocolError(message)
    error.code = code
    return error
