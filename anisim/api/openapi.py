"""Complete BentoML's OpenAPI document so that it describes every route the service answers.

BentoML documents only its own APIs (`/v1/search`, `/v1/similar`) and declares their errors in its
own shapes. `complete` adds the mounted routes (the legacy search, `/v1/models`, `/v1/health`,
`/v1/facets`, `/v1/title`),
declares every error as `{"error": string}` with the statuses `anisim.errors` can answer, marks
request bodies required and lists the model names a client may send.
"""

from __future__ import annotations

import copy
from typing import Any

from anisim.api.schemas import LegacyRequest
from anisim.errors import HTTP_ERRORS
from anisim.limits import KINDS, MAX_ID, MIN_ID
from anisim.models import REGISTRY

ERROR = {"$ref": "#/components/schemas/Error"}
JSON_OBJECT = {"type": "object", "additionalProperties": True}
KIND = {"type": "string", "enum": list(KINDS)}


def _error_responses(statuses: list[int]) -> dict[str, Any]:
    descriptions = {e.status: (e.__doc__ or e.__name__).strip().splitlines()[0] for e in reversed(HTTP_ERRORS)}
    return {str(s): {"description": descriptions.get(s, "error"), "content": {"application/json": {"schema": ERROR}}}
            for s in statuses}


def _model_names() -> list[str]:
    return sorted({name for spec in REGISTRY for name in (spec.name, *spec.aliases)})


def _legacy_route() -> dict[str, Any]:
    body = LegacyRequest.model_json_schema()
    body["properties"]["model"]["enum"] = _model_names()
    return {"post": {
        "tags": ["Legacy (old AniSearch front end)"], "operationId": "legacy_search",
        "summary": "Search by description, the old Flask API's contract",
        "parameters": [{"name": "kind", "in": "path", "required": True,
                        "schema": KIND}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {
            "200": {"description": "a bare array of title records (legacy key names); header X-Anisim-Model",
                    "content": {"application/json": {"schema": {"type": "array", "items": JSON_OBJECT}}}},
            **_error_responses([400, 404, 405, 413, 429, 503]),
        },
    }}


def _get_route(summary: str, operation: str, schema: dict[str, Any], unavailable: bool = False,
               parameters: list[dict[str, Any]] | None = None, errors: tuple[int, ...] = ()) -> dict[str, Any]:
    body = {"content": {"application/json": {"schema": schema}}}
    responses = {"200": {"description": summary, **body}, **_error_responses(list(errors))}
    if unavailable:
        responses["503"] = {"description": "not ready: the same body, with the problems and Retry-After", **body}
    return {"get": {"tags": ["Service info"], "operationId": operation, "summary": summary, "responses": responses,
                    **({"parameters": parameters} if parameters else {})}}


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of BentoML's OpenAPI document with every route and error shape declared."""
    document = copy.deepcopy(document)
    paths = document.setdefault("paths", {})
    for route in ("/v1/search", "/v1/similar"):
        operation = paths.get(route, {}).get("post")
        if operation is None:
            continue
        operation["responses"] = {"200": operation["responses"]["200"],
                                  **_error_responses([400, 404, 405, 413, 415, 429, 503])}
        body = operation.get("requestBody", {})
        body["required"] = True
        schema = body.get("content", {}).get("application/json", {}).get("schema", {})
        if "model" in schema.get("properties", {}):
            schema["properties"]["model"].update(enum=_model_names(), nullable=True)
    paths["/anisearchmodel/{kind}"] = _legacy_route()
    paths["/v1/models"] = _get_route("every known model: aliases, dimension, available, served, default",
                                     "list_models", {"type": "array", "items": JSON_OBJECT})
    paths["/v1/health"] = _get_route("200 only when every index is loaded and the encoder answers now",
                                     "health", JSON_OBJECT, unavailable=True)
    paths["/v1/facets"] = _get_route(
        "every genre, theme, demographic and type of a kind with its count, and the year and score ranges",
        "facets", JSON_OBJECT, errors=(400, 503),
        parameters=[{"name": "kind", "in": "query", "required": True,
                     "schema": KIND}])
    paths["/v1/title"] = _get_route(
        "one title's whole v1 record: titles, makers, genres, synopsis, related titles", "title", JSON_OBJECT,
        errors=(400, 404, 503),
        parameters=[{"name": "kind", "in": "query", "required": True,
                     "schema": KIND},
                    {"name": "id", "in": "query", "required": True,
                     "schema": {"type": "integer", "minimum": MIN_ID, "maximum": MAX_ID}}])
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = {"type": "object", "required": ["error"], "additionalProperties": False,
                        "properties": {"error": {"type": "string", "description": "one line; never the input"}}}
    return document
