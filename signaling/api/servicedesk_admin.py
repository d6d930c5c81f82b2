"""Service-desk administration: webhook endpoints, dead letters and the weekly SLA report."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import web

from sessions.exceptions import NotFoundError, ValidationError
from sessions.servicedesk.endpoints import make_endpoint
from sessions.servicedesk.exceptions import EndpointRejectedError
from sessions.servicedesk.report import report_csv
from signaling import access
from signaling.api.registry import ApiRegistry, Call
from signaling.api.servicedesk_models import (
    DeadLetterOut,
    DeadLetterQuery,
    ReportQuery,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    dead_letter_out,
    webhook_out,
)
from signaling.auth import Principal, Role
from signaling.desk_node import DeskNode, desk_node
from signaling.keys import SERVICES_KEY

TAGS = ("service desk admin",)


def _node(call: Call[Any, Any]) -> DeskNode:
    return desk_node(call.request.app[SERVICES_KEY])


def _require_admin(principal: Principal, what: str) -> None:
    principal.require(principal.role is Role.ADMIN, what)


# -- webhooks --------------------------------------------------------------------------------


async def add_webhook(call: Call[WebhookCreate, None]) -> WebhookCreated:
    """Add a webhook endpoint; its signing secret is in this answer and never again."""
    _require_admin(call.caller, "manage webhooks")
    body, desk = call.body, _node(call).records()
    try:
        endpoint = make_endpoint(body.url, body.events, body.secret, body.description)
    except ValidationError as exc:
        raise EndpointRejectedError(exc.message, **exc.details) from exc
    stored = await desk.outbox.add_endpoint(endpoint, desk.clock.now())
    return WebhookCreated(**webhook_out(stored).model_dump(), secret=stored.secret)


async def list_webhooks(call: Call[None, None]) -> list[WebhookOut]:
    """Active webhook endpoints (without their secrets)."""
    _require_admin(call.caller, "manage webhooks")
    endpoints = await _node(call).records().outbox.list_endpoints()
    return [webhook_out(e) for e in endpoints if e.active]


async def remove_webhook(call: Call[None, None]) -> None:
    """Stop sending to an endpoint (kept inactive, so its delivery history stays readable)."""
    _require_admin(call.caller, "manage webhooks")
    outbox = _node(call).records().outbox
    endpoint_id = call.path("endpoint_id")
    endpoint = await outbox.get_endpoint(endpoint_id)
    if endpoint is None or not endpoint.active:
        raise NotFoundError(f"no webhook endpoint {endpoint_id}")
    await outbox.set_endpoint_active(endpoint_id, False)


# -- dead letters ----------------------------------------------------------------------------


async def dead_letters(call: Call[None, DeadLetterQuery]) -> list[DeadLetterOut]:
    """Notifications that could not be delivered, newest first, with every error."""
    _require_admin(call.caller, "read dead letters")
    messages = await _node(call).records().dead_letters(call.query.limit)
    return [dead_letter_out(m) for m in messages]


async def redrive(call: Call[None, None]) -> None:
    """Give a dead letter a fresh set of attempts (409 if it is not dead)."""
    _require_admin(call.caller, "redrive dead letters")
    desk = _node(call).records()
    await desk.outbox.redrive(call.path("message_id"), desk.clock.now())


# -- weekly report ---------------------------------------------------------------------------


def _week_start(day: date | None, today: date) -> datetime:
    day = day or today
    monday = day - timedelta(days=day.weekday())
    try:
        start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
        _ = start + timedelta(days=8)  # the report reads a week on: it must be representable
    except (OverflowError, ValueError):
        raise NotFoundError(f"no report for the week of {day.isoformat()}") from None
    return start


async def _report(call: Call[None, ReportQuery]) -> tuple[datetime, dict[str, Any]]:
    principal = call.caller
    principal.require(principal.role in access.ASSIGNERS, "read SLA reports")
    desk = _node(call).records()
    start = _week_start(call.query.week, desk.clock.now().date())
    return start, await desk.weekly_report(start)


def _csv(start: datetime, report: dict[str, Any]) -> web.Response:
    name = f"sla-week-{start.date().isoformat()}.csv"
    return web.Response(
        text=report_csv(report),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def sla_report(call: Call[None, ReportQuery]) -> web.StreamResponse:
    """The weekly SLA report as JSON (``?format=csv`` for the same as CSV)."""
    start, report = await _report(call)
    if call.query.format == "csv":
        return _csv(start, report)
    return web.json_response(report)


async def sla_report_csv(call: Call[None, ReportQuery]) -> web.StreamResponse:
    """The weekly SLA report as CSV (``metric,value`` rows with dotted paths)."""
    start, report = await _report(call)
    return _csv(start, report)


def register(registry: ApiRegistry) -> None:
    """Add the administration endpoints."""
    route = registry.route
    route(
        "POST",
        "/api/desk/webhooks",
        summary="Add a webhook endpoint",
        tags=TAGS,
        body=WebhookCreate,
        response=WebhookCreated,
        status=201,
        errors=(409,),
    )(add_webhook)
    route(
        "GET",
        "/api/desk/webhooks",
        summary="List webhook endpoints",
        tags=TAGS,
        response=list[WebhookOut],
    )(list_webhooks)
    route(
        "DELETE",
        "/api/desk/webhooks/{endpoint_id}",
        summary="Remove a webhook endpoint",
        tags=TAGS,
        status=204,
        errors=(404,),
    )(remove_webhook)
    route(
        "GET",
        "/api/desk/dead-letters",
        summary="Undeliverable notifications",
        tags=TAGS,
        query=DeadLetterQuery,
        response=list[DeadLetterOut],
    )(dead_letters)
    route(
        "POST",
        "/api/desk/dead-letters/{message_id}/redrive",
        summary="Retry a dead letter",
        tags=TAGS,
        status=204,
        errors=(404, 409),
    )(redrive)
    route(
        "GET",
        "/api/reports/sla",
        summary="Weekly SLA report (JSON; ?format=csv for CSV)",
        tags=TAGS,
        query=ReportQuery,
        response=dict[str, Any],
        errors=(404,),
    )(sla_report)
    route(
        "GET",
        "/api/reports/sla.csv",
        summary="Weekly SLA report as CSV",
        tags=TAGS,
        query=ReportQuery,
        errors=(404,),
    )(sla_report_csv)
