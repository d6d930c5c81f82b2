"""Liveness, readiness and metrics endpoints for the orchestrator and Prometheus."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from signaling.api.registry import ApiRegistry, Call
from signaling.keys import SERVICES_KEY


class HealthOut(BaseModel):
    """Liveness answer."""

    status: str


class ReadyOut(BaseModel):
    """Readiness answer: every dependency checked."""

    status: str
    checks: dict[str, str]


async def healthz(call: Call[None, None]) -> HealthOut:
    """The process is up and its event loop answers."""
    return HealthOut(status="ok")


async def readyz(call: Call[None, None]) -> web.Response:
    """The store answers a query; 503 otherwise."""
    services = call.request.app[SERVICES_KEY]
    checks: dict[str, str] = {}
    try:
        await services.store.ping()
        checks["store"] = "ok"
    except Exception as exc:  # readiness reports, it does not raise
        checks["store"] = f"error: {type(exc).__name__}"
    ok = all(value == "ok" for value in checks.values())
    body: dict[str, Any] = {"status": "ok" if ok else "unavailable", "checks": checks}
    return web.json_response(body, status=200 if ok else 503)


async def metrics(call: Call[None, None]) -> web.Response:
    """Prometheus text exposition."""
    body = call.request.app[SERVICES_KEY].metrics.render()
    return web.Response(body=body, content_type="text/plain", charset="utf-8")


def register(registry: ApiRegistry) -> None:
    """Add the health endpoints."""
    registry.route(
        "GET", "/healthz", summary="Liveness", tags=("ops",), response=HealthOut, auth=False
    )(healthz)
    registry.route(
        "GET",
        "/readyz",
        summary="Readiness",
        tags=("ops",),
        response=ReadyOut,
        auth=False,
        errors=(503,),
    )(readyz)
    registry.route("GET", "/metrics", summary="Prometheus metrics", tags=("ops",), auth=False)(
        metrics
    )
