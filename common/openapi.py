"""OpenAPI generation hooks."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers


def only_prefixed_routes(
    endpoints: list[tuple[str, str, str, Any]], **kwargs: Any
) -> list[tuple[str, str, str, Any]]:
    """Document each route once, under ``/api``; the unprefixed mount is an alias."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/")]


#: The error responses every API documents (the established ``detail`` shape).
ERROR_RESPONSE = OpenApiResponse(
    response=inline_serializer("ErrorDetail", {"detail": serializers.CharField()}),
    description="An error; `detail` says what went wrong.",
)
COMPONENTS = "#/components/schemas/"

#: 422 bodies: the validation list, or a plain string where a route states one problem (an
#: unknown category on v1, a record the converters refuse). ``loc`` holds names and, inside
#: bodies, list indexes.
VALIDATION_COMPONENTS: dict[str, dict[str, Any]] = {
    "ValidationErrorItem": {
        "type": "object",
        "properties": {
            "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "msg": {"type": "string"},
            "type": {"type": "string"},
        },
        "required": ["loc", "msg", "type"],
    },
    "ValidationErrorDetail": {
        "type": "object",
        "properties": {
            "detail": {
                "oneOf": [
                    {"type": "array", "items": {"$ref": COMPONENTS + "ValidationErrorItem"}},
                    {"type": "string"},
                ]
            }
        },
        "required": ["detail"],
    },
}
VALIDATION_RESPONSE = OpenApiResponse(
    response={"$ref": COMPONENTS + "ValidationErrorDetail"},
    description="Invalid input: a list of `{loc, msg, type}`, or a string `detail`.",
)
ERROR_REF = {"$ref": COMPONENTS + "ErrorDetail"}
RETRY_AFTER = {
    "Retry-After": {"description": "Seconds after which to try again.", "schema": {"type": "integer"}}
}
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
#: Answers any route with a request body can give before its view runs.
BODY_ANSWERS = {
    "411": "A chunked body without a length where the server needs one.",
    "413": "The request body is over the size limit.",
    "415": "The body is not `application/json`.",
}


def document_common_answers(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Postprocessing hook: the answers every route can give, documented on every route.

    Any route may meet an unavailable database (or AI Horde, for keys): 503 with
    Retry-After. Any body may be refused by size, length or media type; any parameter or
    body may be refused as invalid (422). Listing these per view would drift.
    """
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(VALIDATION_COMPONENTS)
    schemas.setdefault("ErrorDetail", {"type": "object", "properties": {"detail": {"type": "string"}}})
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            has_body = "requestBody" in operation
            if has_body:
                for code, description in BODY_ANSWERS.items():
                    responses.setdefault(code, _error_answer(description))
            if any(parameter.get("in") == "query" for parameter in operation.get("parameters", ())):
                # Django refuses more than DATA_UPLOAD_MAX_NUMBER_FIELDS query parameters.
                responses.setdefault("400", _error_answer("Too many query parameters."))
            if has_body or operation.get("parameters"):
                responses.setdefault(
                    "422",
                    {
                        "description": "Invalid input.",
                        "content": {"application/json": {"schema": VALIDATION_RESPONSE.response}},
                    },
                )
            unavailable = responses.setdefault("503", _error_answer("A dependency is unavailable."))
            unavailable.setdefault("headers", {}).update(RETRY_AFTER)
    _any_or_null_once(result)
    return result


def _error_answer(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


def _any_or_null_once(node: Any) -> None:
    # drf-spectacular documents a nullable JSONField as oneOf [{}, null]: null matches both
    # branches, so the one value it was meant to allow is refused. Any value already
    # includes null.
    if isinstance(node, dict):
        if node.get("oneOf") == [{}, {"type": "null"}]:
            del node["oneOf"]
        for value in node.values():
            _any_or_null_once(value)
    elif isinstance(node, list):
        for value in node:
            _any_or_null_once(value)


# --- v2 record schemas ----------------------------------------------------------------------------
#
# The record contract is the client package's pydantic models; their JSON Schemas
# (2020-12, hence OpenAPI 3.1) become components, so the documented v2 bodies are
# exactly what the server validates and clients parse.


@lru_cache(maxsize=1)
def record_components() -> dict[str, dict[str, Any]]:
    """Every v2 record class's JSON Schema, and the schemas they refer to, by component name."""
    from horde_model_reference.model_reference_records import MODEL_RECORD_TYPE_LOOKUP

    components: dict[str, dict[str, Any]] = {}
    for record_class in MODEL_RECORD_TYPE_LOOKUP.values():
        schema = record_class.model_json_schema(ref_template=COMPONENTS + "{model}")
        for name, definition in {**schema.pop("$defs", {}), record_class.__name__: schema}.items():
            if components.setdefault(name, definition) != definition:
                raise ValueError(f"two different record schemas are both called {name}")
    return components


def v2_record_schema() -> dict[str, Any]:
    """A v2 record of whichever category the path names."""
    from horde_model_reference.model_reference_records import MODEL_RECORD_TYPE_LOOKUP

    names = sorted({record_class.__name__ for record_class in MODEL_RECORD_TYPE_LOOKUP.values()})
    return {
        "anyOf": [{"$ref": COMPONENTS + name} for name in names],
        "description": "A v2 record; its schema is the one of the category in the path.",
    }


def v2_document_schema() -> dict[str, Any]:
    return {"type": "object", "additionalProperties": v2_record_schema(), "description": "`{name: record}`"}


def add_record_schemas(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: put the record components into the schema."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in record_components().items():
        if schemas.setdefault(name, definition) != definition:
            raise ValueError(f"an API component is also called {name}, as a record schema")
    return result


def v2_search_response_schema() -> dict[str, Any]:
    """The SearchResponse body: one page of v2 records."""
    return {
        "type": "object",
        "properties": {
            "results": {"type": "array", "items": v2_record_schema()},
            "total": {"type": "integer", "description": "every match, before paging"},
            "offset": {"type": "integer"},
            "limit": {"type": "integer"},
            "has_more": {"type": "boolean", "description": "offset + limit < total"},
        },
        "required": ["results", "total", "offset", "limit", "has_more"],
    }
