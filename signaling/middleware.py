"""Request middlewares: request ids, authentication, metrics, and errors as problem documents."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from signaling.auth import bearer_token
from signaling.keys import PRINCIPAL_KEY, REQUEST_ID_KEY, SERVICES_KEY
from signaling.logs import request_id_var
from signaling.problems import problem_response, to_wire_error

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give every request an id (or keep the caller's), record metrics, map errors."""
    incoming = request.headers.get("X-Request-Id", "")
    request_id = incoming if 0 < len(incoming) <= 64 else secrets.token_hex(8)
    request[REQUEST_ID_KEY] = request_id
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    try:
        response = await _handle_errors(request, handler, request_id)
    finally:
        request_id_var.reset(token)
    route = request.match_info.route.resource
    template = route.canonical if route is not None else "unmatched"
    metrics = request.app[SERVICES_KEY].metrics
    metrics.http_requests.labels(request.method, template, str(response.status)).inc()
    metrics.http_latency.labels(template).observe(time.perf_counter() - started)
    if not response.prepared:
        response.headers["X-Request-Id"] = request_id
    return response


async def _handle_errors(
    request: web.Request, handler: Handler, request_id: str
) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPRedirection:
        raise
    except web.HTTPSuccessful as success:
        return success
    except Exception as exc:  # every error leaves as a problem document
        error = to_wire_error(exc)
        if error.status >= 500:
            log.error("request failed: %s %s", request.method, request.path, exc_info=exc)
        response = problem_response(error, request_id)
        if isinstance(exc, web.HTTPException) and "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]  # RFC 9110 wants it on 405
        return response


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Verify a bearer token when one is sent; endpoints decide whether one is required."""
    header = request.headers.get("Authorization")
    if header is not None and request.path.startswith("/api/"):
        verifier = request.app[SERVICES_KEY].verifier
        request[PRINCIPAL_KEY] = await verifier.verify(bearer_token(header))
    return await handler(request)
