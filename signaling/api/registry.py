"""Typed HTTP endpoints: one decorator registers the route, validates input and feeds OpenAPI.

A handler declares its body, query and response models; the wrapper parses and validates them
with the very models the OpenAPI document is generated from, so the two cannot disagree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from aiohttp import web
from pydantic import BaseModel, TypeAdapter

from sessions.exceptions import AuthenticationError, ValidationError
from signaling.auth import Principal
from signaling.keys import PRINCIPAL_KEY

PATH_PARAMETER = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")
"""What an id or identity in a path may look like (the OpenAPI document says the same)."""

BodyT = TypeVar("BodyT", bound=BaseModel | None)
QueryT = TypeVar("QueryT", bound=BaseModel | None)


@dataclass(frozen=True, slots=True)
class Call(Generic[BodyT, QueryT]):
    """What a handler receives: the request, its caller and the validated inputs."""

    request: web.Request
    """The aiohttp request (app keys, path parameters)."""
    principal: Principal | None
    """The authenticated caller; None only on public endpoints."""
    body: BodyT
    """The validated JSON body."""
    query: QueryT
    """The validated query parameters."""

    @property
    def caller(self) -> Principal:
        """The caller of an authenticated endpoint."""
        assert self.principal is not None, "endpoint registered with auth=False"
        return self.principal

    def path(self, name: str) -> str:
        """A path parameter."""
        return self.request.match_info[name]


Handler = Callable[[Call[Any, Any]], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One HTTP operation and its contract."""

    method: str
    path: str
    handler: Handler
    summary: str
    tags: tuple[str, ...]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any
    status: int
    auth: bool
    errors: tuple[int, ...]


@dataclass
class ApiRegistry:
    """Collects endpoints; ``install`` adds them to an aiohttp app."""

    endpoints: list[Endpoint] = field(default_factory=list)

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tags: tuple[str, ...] = (),
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: Any = None,
        status: int = 200,
        auth: bool = True,
        errors: tuple[int, ...] = (),
    ) -> Callable[[Handler], Handler]:
        """Register a handler for ``method path``."""

        def decorator(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(
                    method,
                    path,
                    handler,
                    summary,
                    tags,
                    body,
                    query,
                    response,
                    status,
                    auth,
                    errors,
                )
            )
            return handler

        return decorator

    def install(self, app: web.Application) -> None:
        """Add every endpoint to the app's router."""
        for endpoint in self.endpoints:
            app.router.add_route(endpoint.method, endpoint.path, _wrap(endpoint))


def _wrap(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        principal = request.get(PRINCIPAL_KEY)
        if endpoint.auth and principal is None:
            raise AuthenticationError("missing bearer token")
        _check_path(request)
        body = await _parse_body(request, endpoint.body)
        query = _parse_query(request, endpoint.query)
        result = await endpoint.handler(Call(request, principal, body, query))
        if isinstance(result, web.StreamResponse):
            return result
        if result is None:
            return web.Response(status=204 if endpoint.status == 200 else endpoint.status)
        return web.json_response(_dump(endpoint.response, result), status=endpoint.status)

    handle.__name__ = endpoint.handler.__name__
    return handle


def _check_path(request: web.Request) -> None:
    for name, value in request.match_info.items():
        if not PATH_PARAMETER.match(value):
            raise ValidationError(f"{name} is not a valid identifier", field=name)


async def _parse_body(request: web.Request, model: type[BaseModel] | None) -> BaseModel | None:
    if model is None:
        return None
    raw = await request.read()
    if not raw:
        raise ValidationError("request body is required")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"malformed JSON: {exc}") from exc
    return model.model_validate(data)


def _parse_query(request: web.Request, model: type[BaseModel] | None) -> BaseModel | None:
    if model is None:
        return None
    values: dict[str, Any] = {}
    for key in request.query:
        items = request.query.getall(key)
        values[key] = items if len(items) > 1 else items[0]
    return model.model_validate(values)


def _dump(response_type: Any, result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if response_type is not None:
        return TypeAdapter(response_type).dump_python(result, mode="json")
    return result
