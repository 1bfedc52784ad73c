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
VALIDATION_RESPONSE = OpenApiResponse(
    response=inline_serializer(
        "ValidationErrorDetail",
        {
            "detail": serializers.ListField(
                child=inline_serializer(
                    "ValidationErrorItem",
                    {
                        "loc": serializers.ListField(child=serializers.CharField()),
                        "msg": serializers.CharField(),
                        "type": serializers.CharField(),
                    },
                )
            )
        },
    ),
    description="Invalid input: a list of `{loc, msg, type}`, or a string `detail`.",
)


# --- v2 record schemas ----------------------------------------------------------------------------
#
# The record contract is the client package's pydantic models; their JSON Schemas
# (2020-12, hence OpenAPI 3.1) become components, so the documented v2 bodies are
# exactly what the server validates and clients parse.

COMPONENTS = "#/components/schemas/"


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
