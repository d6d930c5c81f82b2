"""The service desk running with the node: desk, bus bridge, outbox worker and expert sockets.

Routing state (queue, offers, presence) lives in memory, so exactly one node of a cluster
runs the desk: the holder of a Redis key with an expiry, refreshed while the node lives
(without Redis, this node). A node that loses the key closes its desk; another takes over
within one expiry and rebuilds the queue from the store. Every node runs the outbox worker
(its claims are leases) and sends the webhooks of the events it published. Presence and
offers travel over the bus, so an expert may be connected to any node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from enum import StrEnum
from typing import Any, Protocol

from aiohttp import web

from sessions.bus import BusEvent
from sessions.exceptions import (
    InvalidStateError,
    NotFoundError,
    PermissionDeniedError,
    TeleGuideError,
)
from sessions.ids import new_id
from sessions.servicedesk.catalogue import catalogue_from_config
from sessions.servicedesk.events import OfferClosed, OfferMade, RoutingEvent, TicketAssigned
from sessions.servicedesk.exceptions import DeskElsewhereError, OfferExpiredError
from sessions.servicedesk.offers import Offer
from sessions.servicedesk.outbox import Channel
from sessions.servicedesk.outbox_repo import OutboxRepository
from sessions.servicedesk.presence import Presence
from sessions.servicedesk.service import ServiceDesk
from signaling.keys import SERVICES_KEY
from signaling.notify.bridge import DeskBridge
from signaling.notify.email import SmtpSettings, SmtpTransport
from signaling.notify.transport import Transport
from signaling.notify.webhooks import WebhookTransport
from signaling.notify.worker import OutboxWorker
from signaling.services import Services
from signaling.ws.connection import SignalingConnection

logger = logging.getLogger(__name__)

#: Redis key naming the node that runs the desk.
LOCK_KEY = "teleguide:desk:leader"
#: Bus topics between nodes: presence to the desk, routing events to the experts' nodes.
PRESENCE_TOPIC = "desk.presence"
PUSH_TOPIC = "desk.push"
#: An offer answered on a node without the desk, and the desk's reply to that node.
ANSWER_TOPIC = "desk.answer"
ANSWERED_TOPIC = "desk.answered"
#: Seconds a node waits for the desk's reply to a forwarded answer.
ANSWER_TIMEOUT_S = 10.0
# Errors an answer can end in, rebuilt on the node that forwarded it (the rest: invalid_state).
_REMOTE_ERRORS: dict[str, type[TeleGuideError]] = {
    cls.code: cls
    for cls in (OfferExpiredError, NotFoundError, PermissionDeniedError, InvalidStateError)
}


class DeskLock(Protocol):
    """Who runs the desk: ``acquire`` takes or refreshes the lock and tells if we hold it."""

    refresh_s: float | None
    """How often to call ``acquire`` again (None: once is enough)."""

    async def acquire(self) -> bool:
        """Take or refresh the lock; True while this node holds it."""
        ...

    async def release(self) -> None:
        """Give the lock up (only if this node holds it)."""
        ...


class LocalLock:
    """A single node always runs its desk."""

    refresh_s: float | None = None

    async def acquire(self) -> bool:
        """Always held."""
        return True

    async def release(self) -> None:
        """Nothing to give up."""


# Refresh or release only a lock that is still ours (compare-and-set in one round trip).
_REFRESH = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class RedisLock:
    """A Redis key with an expiry, held by one node at a time."""

    def __init__(self, url: str, node: str, ttl_s: float = 15.0, key: str = LOCK_KEY) -> None:
        self.url, self.node, self.ttl_s, self.key = url, node, ttl_s, key
        self.refresh_s: float | None = ttl_s / 3
        self._redis: Any = None

    async def acquire(self) -> bool:
        """Take the key if free, refresh it if ours."""
        if self._redis is None:
            from redis import asyncio as redis_asyncio

            self._redis = redis_asyncio.from_url(self.url)
        ttl_ms = str(int(self.ttl_s * 1000))
        return bool(await self._redis.eval(_REFRESH, 1, self.key, self.node, ttl_ms))

    async def release(self) -> None:
        """Delete the key if ours, and close the connection."""
        if self._redis is None:
            return
        with contextlib.suppress(Exception):
            await self._redis.eval(_RELEASE, 1, self.key, self.node)
        await self._redis.aclose()
        self._redis = None


class NodeState(StrEnum):
    """Lifecycle of the desk node."""

    CREATED = "created"
    RUNNING = "running"
    CLOSED = "closed"


class DeskNode:
    """Starts and stops the service desk with the node; see the module docstring."""

    def __init__(self, services: Services, lock: DeskLock | None = None) -> None:
        self.services = services
        settings = services.settings
        self.node = settings.node_id or "local"
        self.lock = lock or (
            RedisLock(settings.redis_url, self.node) if settings.redis_url else LocalLock()
        )
        self.catalogue = catalogue_from_config(settings.desk_catalogue)
        self.survey_url = settings.survey_url or (
            settings.resolved_public_url() + "/survey/{token}"
        )
        self.state = NodeState.CREATED
        self.desk: ServiceDesk | None = None
        self._records: ServiceDesk | None = None
        self.worker: OutboxWorker | None = None
        self.bridge: DeskBridge | None = None
        self.sockets: dict[str, set[SignalingConnection]] = {}
        self._leadership: asyncio.Task[None] | None = None
        self._switch = asyncio.Lock()
        self._tasks: set[asyncio.Future[None]] = set()
        self._answers: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def _set_state(self, state: NodeState) -> None:
        if state is not self.state:
            logger.info("desk node %s: %s -> %s", self.node, self.state.value, state.value)
            self.state = state

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the worker and the bridge, and the desk if this node gets the lock."""
        if self.state is not NodeState.CREATED:
            return
        services = self.services
        outbox = OutboxRepository(services.store.sessionmaker)
        self.worker = OutboxWorker(outbox, self._transports(outbox), services.clock)
        await self.worker.start()
        self.bridge = DeskBridge(services.bus, None, self.node, outbox=outbox, clock=services.clock)
        self.bridge.attach()
        services.bus.subscribe("desk.", self._on_desk_event)
        self._set_state(NodeState.RUNNING)
        await self._contend()
        if self.lock.refresh_s is not None:
            self._leadership = asyncio.create_task(self._hold(self.lock.refresh_s))

    def _transports(self, outbox: OutboxRepository) -> dict[Channel, Transport]:
        settings, clock = self.services.settings, self.services.clock
        transports: dict[Channel, Transport] = {
            Channel.WEBHOOK: WebhookTransport(outbox.get_endpoint, clock)
        }
        if settings.smtp_host:
            smtp = SmtpSettings(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.smtp_sender,
                username=settings.smtp_user or None,
                password=settings.smtp_password or None,
                starttls=settings.smtp_starttls,
            )
            transports[Channel.EMAIL] = SmtpTransport(smtp)
        return transports

    async def close(self) -> None:
        """Stop the desk (giving up the lock), then the worker; idempotent."""
        if self.state is NodeState.CLOSED:
            return
        self._set_state(NodeState.CLOSED)
        if self._leadership is not None:
            self._leadership.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._leadership
        for task in list(self._tasks):  # presence updates of closing sockets: short
            with contextlib.suppress(Exception):
                await task
        await self._resign()
        await self.lock.release()
        if self.worker is not None:
            await self.worker.close()

    async def _hold(self, every_s: float) -> None:
        while self.state is NodeState.RUNNING:
            await asyncio.sleep(every_s)
            await self._contend()

    async def _contend(self) -> None:
        try:
            held = await self.lock.acquire()
        except Exception:
            # Cannot tell whether the key is still ours: stop routing rather than risk two desks.
            logger.exception("desk lock unreachable")
            held = False
        async with self._switch:
            if held and self.desk is None and self.state is NodeState.RUNNING:
                await self._lead()
            elif not held and self.desk is not None:
                await self._resign_locked()

    async def _lead(self) -> None:
        services = self.services
        desk = ServiceDesk(
            services.store,
            services.policy,
            services.clock,
            catalogue=self.catalogue,
            survey_url=self.survey_url,
        )
        desk.add_listener(self._push)
        await desk.start()
        self.desk = desk
        if self.bridge is not None:
            self.bridge.desk = desk
        logger.info("node %s runs the service desk", self.node)

    async def _resign(self) -> None:
        async with self._switch:
            await self._resign_locked()

    async def _resign_locked(self) -> None:
        desk, self.desk = self.desk, None
        if self.bridge is not None:
            self.bridge.desk = None
        if desk is not None:
            await desk.close()
            logger.info("node %s no longer runs the service desk", self.node)

    def records(self) -> ServiceDesk:
        """The desk for what needs no routing state (surveys, callbacks, complaints, reports).

        On a node that does not route, an unstarted desk over the same store does these.
        """
        if self.desk is not None:
            return self.desk
        if self._records is None:
            services = self.services
            self._records = ServiceDesk(
                services.store,
                services.policy,
                services.clock,
                catalogue=self.catalogue,
                survey_url=self.survey_url,
            )
        return self._records

    def require_desk(self) -> ServiceDesk:
        """The desk, when it runs here; DeskElsewhereError otherwise."""
        if self.desk is None:
            raise DeskElsewhereError(
                f"the service desk does not run on node {self.node}; try again on its node"
            )
        return self.desk

    # -- experts' connections ---------------------------------------------------------------

    async def set_presence(self, identity: str, state: Presence) -> None:
        """Record an expert's presence here or, when the desk runs elsewhere, over the bus."""
        desk = self.desk
        if desk is None:
            data = {"identity": identity, "state": state.value}
            await self.services.bus.publish(PRESENCE_TOPIC, data)
            return
        desk.router.expert(identity)  # NotFoundError for someone who is not an expert
        desk.presence.set(identity, state, self.services.clock.now())

    def attach(self, connection: SignalingConnection, identity: str) -> None:
        """Route this connection the expert's offers; ``away`` when their last one closes."""
        sockets = self.sockets.setdefault(identity, set())
        if connection in sockets:
            return
        sockets.add(connection)
        # Commands run in the connection's handler task, which ends with the socket. Its end
        # is watched rather than ``connection.on_close``, which a cancelled handler (a server
        # that cancels handlers of lost connections) never reaches.
        handler = asyncio.current_task()
        assert handler is not None, "attach is called from a command handler"
        handler.add_done_callback(lambda _: self._handler_done(connection))

    def _handler_done(self, connection: SignalingConnection) -> None:
        if self.state is NodeState.RUNNING:  # at shutdown the whole desk goes anyway
            self._spawn(self._connection_closed(connection))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connection_closed(self, connection: SignalingConnection) -> None:
        identity = connection.principal.identity if connection.principal else ""
        sockets = self.sockets.get(identity, set())
        sockets.discard(connection)
        if sockets or self.state is not NodeState.RUNNING:
            return
        self.sockets.pop(identity, None)
        with contextlib.suppress(NotFoundError):
            await self.set_presence(identity, Presence.AWAY)

    async def answer_offer(self, offer_id: str, expert: str, accept: bool) -> dict[str, Any]:
        """Accept or decline an offer here or, when the desk runs elsewhere, over the bus."""
        if self.desk is not None:
            return await answer_here(self.desk, offer_id, expert, accept)
        if not self.services.settings.redis_url:
            raise DeskElsewhereError("the service desk is not running")
        request_id = new_id("req")
        reply = asyncio.get_running_loop().create_future()
        self._answers[request_id] = reply
        data = {"request_id": request_id, "offer_id": offer_id, "expert": expert}
        try:
            await self.services.bus.publish(ANSWER_TOPIC, {**data, "accept": accept})
            result = await asyncio.wait_for(reply, ANSWER_TIMEOUT_S)
        except TimeoutError:
            raise DeskElsewhereError("the service desk did not answer in time") from None
        finally:
            self._answers.pop(request_id, None)
        error = result.get("error")
        if isinstance(error, dict):
            raise _remote_error(error)
        return dict(result["result"])

    async def _answer_for(self, event: BusEvent) -> None:
        """The desk's side of an answer forwarded by another node."""
        assert self.desk is not None
        data = event.data
        reply: dict[str, Any] = {"request_id": data.get("request_id"), "reply_to": event.node}
        try:
            reply["result"] = await answer_here(
                self.desk, str(data["offer_id"]), str(data["expert"]), bool(data["accept"])
            )
        except TeleGuideError as exc:
            reply["error"] = {"code": exc.code, "message": exc.message}
        await self.services.bus.publish(ANSWERED_TOPIC, reply)

    def _send(self, identity: str, message: dict[str, Any]) -> None:
        for connection in list(self.sockets.get(identity, ())):
            connection.send(message)

    async def _push(self, event: RoutingEvent) -> None:
        identity, message = routing_message(event)
        self._send(identity, message)
        if self.services.settings.redis_url:
            data = {"identity": identity, "message": message}
            await self.services.bus.publish(PUSH_TOPIC, data)

    async def _on_desk_event(self, event: BusEvent) -> None:
        if event.node == self.node or self.state is not NodeState.RUNNING:
            return  # our own events were acted on before they were published
        identity = str(event.data.get("identity", ""))
        if event.topic == PUSH_TOPIC:
            self._send(identity, dict(event.data.get("message", {})))
        elif event.topic == ANSWERED_TOPIC and event.data.get("reply_to") == self.node:
            waiting = self._answers.get(str(event.data.get("request_id")))
            if waiting is not None and not waiting.done():
                waiting.set_result(dict(event.data))
        elif event.topic == ANSWER_TOPIC and self.desk is not None:
            await self._answer_for(event)
        elif event.topic == PRESENCE_TOPIC and self.desk is not None:
            with contextlib.suppress(NotFoundError, ValueError):
                state = Presence(str(event.data.get("state")))
                self.desk.router.expert(identity)
                self.desk.presence.set(identity, state, self.services.clock.now())


async def answer_here(
    desk: ServiceDesk, offer_id: str, expert: str, accept: bool
) -> dict[str, Any]:
    """Accept (the reply names the assigned ticket) or decline (the reply is the offer)."""
    if accept:
        ticket = await desk.accept_offer(offer_id, expert)
        return {"ticket_id": ticket.id, "status": ticket.status.value, "assignee": ticket.assignee}
    offer = desk.router.offer(offer_id)
    await desk.decline_offer(offer_id, expert)
    return {"offer": offer_json(offer)}


def _remote_error(error: dict[str, Any]) -> TeleGuideError:
    code = str(error.get("code", "invalid_state"))
    exc = _REMOTE_ERRORS.get(code, InvalidStateError)(str(error.get("message", "")))
    exc.code = code
    return exc


def offer_json(offer: Offer) -> dict[str, Any]:
    """An offer as the WebSocket carries it."""
    return {
        "offer_id": offer.id,
        "ticket_id": offer.ticket_id,
        "expert": offer.expert,
        "made_at": offer.made_at.isoformat(),
        "expires_at": offer.expires_at.isoformat(),
        "state": offer.state.value,
    }


def routing_message(event: RoutingEvent) -> tuple[str, dict[str, Any]]:
    """The expert a routing event is for, and the server event they receive."""
    if isinstance(event, OfferMade):
        return event.offer.expert, {"type": "offer_made", **offer_json(event.offer)}
    if isinstance(event, OfferClosed):
        return event.offer.expert, {"type": "offer_closed", **offer_json(event.offer)}
    assert isinstance(event, TicketAssigned)
    return event.expert, {
        "type": "ticket_assigned",
        "ticket_id": event.ticket_id,
        "expert": event.expert,
        "by": event.by,
        "offer_id": event.offer_id,
        "at": event.at.isoformat(),
    }


def desk_node(services: Services) -> DeskNode:
    """The desk node of a Services instance (created on first use, kept by the services)."""
    node = services.desk
    if node is None:
        node = DeskNode(services)
        services.desk = node
    return node


async def desk_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the desk starts after the services (store, bus) and stops before them."""
    node = desk_node(app[SERVICES_KEY])
    await node.start()
    try:
        yield
    finally:
        await node.close()
