"""The one place where errors become wire errors: RFC 9457 problems and WebSocket error replies."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import ValidationError as PydanticValidationError

from media.recording.errors import RangeNotSatisfiableError
from sessions.exceptions import (
    AuthenticationError,
    ConflictError,
    InvalidStateError,
    LimitExceededError,
    NotFoundError,
    PermissionDeniedError,
    TeleGuideError,
    ValidationError,
)

log = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"


@dataclass(frozen=True, slots=True)
class WireError:
    """An error as every protocol reports it."""

    status: int
    """HTTP status."""
    code: str
    """Stable machine-readable code."""
    title: str
    """Short human summary of the class of error."""
    detail: str
    """What exactly went wrong."""
    extra: dict[str, Any]
    """Additional members (current status, field errors, ...)."""


_STATUS: list[tuple[type[TeleGuideError], int, str]] = [
    (AuthenticationError, 401, "Unauthorized"),
    (PermissionDeniedError, 403, "Forbidden"),
    (NotFoundError, 404, "Not Found"),
    (ConflictError, 409, "Conflict"),
    (InvalidStateError, 409, "Conflict"),
    (LimitExceededError, 429, "Too Many Requests"),
    (ValidationError, 422, "Unprocessable Content"),
    # The caller adds ``Content-Range: bytes */size`` (the size is in the problem's ``size``).
    (RangeNotSatisfiableError, 416, "Range Not Satisfiable"),
]


def to_wire_error(exc: BaseException) -> WireError:
    """Map any exception to its wire form; unknown exceptions become an opaque 500."""
    if isinstance(exc, PydanticValidationError):
        return WireError(
            422,
            "invalid_input",
            "Unprocessable Content",
            _pydantic_detail(exc),
            {"errors": _pydantic_errors(exc)},
        )
    if isinstance(exc, TeleGuideError):
        for cls, status, title in _STATUS:
            if isinstance(exc, cls):
                return WireError(status, exc.code, title, exc.message, dict(exc.details))
        return WireError(500, exc.code, "Internal Server Error", exc.message, {})
    if isinstance(exc, web.HTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status, f"http_{exc.status}")
        return WireError(exc.status, code, exc.reason, exc.text or exc.reason, {})
    log.exception("unhandled error", exc_info=exc)
    return WireError(500, "internal_error", "Internal Server Error", "unexpected server error", {})


def _pydantic_errors(exc: PydanticValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


def _pydantic_detail(exc: PydanticValidationError) -> str:
    return "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in _pydantic_errors(exc))


def problem_response(error: WireError, request_id: str | None = None) -> web.Response:
    """An RFC 9457 ``application/problem+json`` response."""
    body: dict[str, Any] = {
        "type": f"https://teleguide.dev/problems/{error.code}",
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
        **error.extra,
    }
    if request_id:
        body["request_id"] = request_id
    headers = {"WWW-Authenticate": 'Bearer realm="teleguide"'} if error.status == 401 else None
    return web.Response(
        status=error.status,
        text=json.dumps(body, default=str),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


def ws_error_reply(message_id: int | None, exc: BaseException) -> dict[str, Any]:
    """The WebSocket reply for a failed command."""
    error = to_wire_error(exc)
    payload: dict[str, Any] = {"code": error.code, "message": error.detail}
    if error.extra:
        payload["details"] = error.extra
    return {"id": message_id, "ok": False, "error": payload}
