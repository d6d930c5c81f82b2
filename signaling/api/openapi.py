"""OpenAPI 3.1 document built from the registered endpoints and their pydantic models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from signaling.api.registry import PATH_PARAMETER, ApiRegistry, Endpoint

REF = "#/components/schemas/{model}"

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details with a stable machine-readable code.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "request_id": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail", "code"],
}

_STANDARD_ERRORS = {
    400: "Bad request",
    401: "Missing, malformed, tampered or expired token",
    403: "The caller's role or grants do not allow this",
    404: "No such object, or not visible to the caller",
    409: "Conflict with the object's current state",
    413: "Request body too large",
    422: "The body or query does not match the schema",
}


def build_openapi(registry: ApiRegistry, title: str, version: str) -> dict[str, Any]:
    """Return the OpenAPI document of every registered endpoint."""
    models = _collect_models(registry.endpoints)
    _, defs = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    schemas["Problem"] = PROBLEM_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in registry.endpoints:
        operation = _operation(endpoint, schemas)
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def _collect_models(endpoints: list[Endpoint]) -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []
    for endpoint in endpoints:
        for model in (endpoint.body, endpoint.query, endpoint.response):
            if isinstance(model, type) and issubclass(model, BaseModel) and model not in seen:
                seen.append(model)
    return seen


def _operation(endpoint: Endpoint, schemas: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": endpoint.handler.__name__,
        "summary": endpoint.summary,
        "tags": list(endpoint.tags),
        "parameters": _path_parameters(endpoint.path) + _query_parameters(endpoint.query),
        "responses": _responses(endpoint, schemas),
    }
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(endpoint.body)}},
        }
    if endpoint.auth:
        operation["security"] = [{"bearer": []}]
    return operation


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": PATH_PARAMETER.pattern},
        }
        for name in re.findall(r"{(\w+)}", path)
    ]


def _query_parameters(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def _responses(endpoint: Endpoint, schemas: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if endpoint.response is None:
        responses[str(endpoint.status)] = {"description": "Done"}
    else:
        responses[str(endpoint.status)] = {
            "description": "OK",
            "content": {"application/json": {"schema": _schema_of(endpoint.response, schemas)}},
        }
    codes = set(endpoint.errors) | {400, 422}
    if endpoint.auth:
        codes |= {401, 403}
    if endpoint.body is not None:
        codes.add(413)
    for code in sorted(codes):
        responses[str(code)] = {
            "description": _STANDARD_ERRORS.get(code, "Error"),
            "content": {
                "application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}
            },
        }
    return responses


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"$ref": REF.format(model=model.__name__)}


def _schema_of(response: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    if isinstance(response, type) and issubclass(response, BaseModel):
        return _ref(response)
    schema = TypeAdapter(response).json_schema(ref_template=REF)
    schemas.update(schema.pop("$defs", {}))
    return schema
