"""The v1 read API: the legacy documents of the public GitHub repositories.

Generated from the canonical records by the client's converters, so a v1 document
parses to exactly the legacy file the data came from (for text, the full ``db.json``
with its three entries per model).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from common.api import PublicReadView
from common.categories import CATEGORY_VALUES
from common.errors import DomainError
from common.openapi import ERROR_RESPONSE, VALIDATION_RESPONSE
from horde_model_reference.legacy import canonical_to_legacy_document, render_legacy_json
from horde_model_reference.meta_consts import (
    CATEGORIES_MANAGED_ELSEWHERE,
    CATEGORY_DESCRIPTORS,
    MODEL_REFERENCE_CATEGORY,
)
from references.api.common import (
    CATEGORY_LIST_SCHEMA,
    CATEGORY_LISTS,
    NOT_MODIFIED_RESPONSE,
    serve_category_document,
)
from references.document_cache import CategorySnapshot, category_pointer_get, register_renderer
from references.http import static_answer
from references.routes import v1_category_value

V1_FORMAT = "v1"
V1_GROUPED_FORMAT = "v1-grouped"
EMPTY_FORMAT = "v1-empty"
TEXT = MODEL_REFERENCE_CATEGORY.text_generation.value


def v1_document(snapshot: CategorySnapshot) -> dict[str, Any]:
    document: dict[str, Any] = snapshot.memo(
        "v1-document", lambda: canonical_to_legacy_document(snapshot.category, snapshot.entries)
    )
    return document


def _grouped(snapshot: CategorySnapshot) -> bytes:
    from horde_model_reference.text_model_parser import add_text_model_groups

    return render_legacy_json(add_text_model_groups(v1_document(snapshot)))


register_renderer(V1_FORMAT, lambda snapshot: render_legacy_json(v1_document(snapshot)))
register_renderer(V1_GROUPED_FORMAT, _grouped)
register_renderer(EMPTY_FORMAT, lambda snapshot: b"{}")


def v1_category(name: str) -> MODEL_REFERENCE_CATEGORY:
    """Resolve a v1 category name: ``db.json``, any ``*.json`` suffix, ``stable_diffusion``."""
    value = v1_category_value(name)
    if value is None:
        raise DomainError(
            f"Invalid model category: '{name}'. Valid categories: {CATEGORY_VALUES} "
            "(also 'stable_diffusion', 'db.json' and '<category>.json')",
            status=422,
        )
    return MODEL_REFERENCE_CATEGORY(value)


class V1InfoView(PublicReadView):
    @extend_schema(operation_id="v1_info", responses={200: OpenApiTypes.OBJECT}, tags=["v1"])
    def get(self, request: Request) -> Response:
        return Response(
            {
                "message": (
                    "v1 model references: the legacy JSON documents of the GitHub repositories "
                    "Haidra-Org/AI-Horde-image-model-reference and Haidra-Org/AI-Horde-text-model-reference, "
                    "generated from the canonical records."
                )
            }
        )


class V1ModelCategoriesView(PublicReadView):
    @extend_schema(
        operation_id="v1_model_categories",
        responses={200: CATEGORY_LIST_SCHEMA, 304: NOT_MODIFIED_RESPONSE},
        tags=["v1"],
    )
    def get(self, request: Request) -> HttpResponse:
        return static_answer(request.META, "v1-categories", CATEGORY_LISTS["v1"]).as_response()


class V1CategoryReads:
    """The public document read of ``v1/{category}`` (no auth, no SQL when warm).

    A mixin: the path's writes belong to the queue, and ``config.api`` composes the two
    into the one view class of the path (drf-spectacular documents a path per class).
    """

    @extend_schema(
        operation_id="read_v1_reference",
        parameters=[
            OpenApiParameter(
                "model_category_name",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="a category, `stable_diffusion`, `db.json` or `<category>.json`",
            ),
            OpenApiParameter(
                "include_group",
                OpenApiTypes.BOOL,
                description="text_generation only: add text_model_group and text_model_group_summary",
            ),
        ],
        responses={
            200: OpenApiTypes.OBJECT,
            304: NOT_MODIFIED_RESPONSE,
            404: ERROR_RESPONSE,
            422: VALIDATION_RESPONSE,
        },
        tags=["v1"],
        description="The legacy document of a category (`{}` for lora and ti).",
    )
    def get(self, request: Request, model_category_name: str) -> Any:
        category = v1_category(model_category_name)
        if category in CATEGORIES_MANAGED_ELSEWHERE:
            return serve_category_document(request, category.value, EMPTY_FORMAT)
        if not CATEGORY_DESCRIPTORS[category].has_legacy_format:
            raise DomainError(f"Model category '{category.value}' has no legacy (v1) format", status=404)
        fmt = V1_FORMAT
        if category.value == TEXT and _truthy(request.query_params.get("include_group")):
            fmt = V1_GROUPED_FORMAT
        pointer = category_pointer_get(category.value)
        if pointer.records == 0:
            # As the established service: an empty legacy category is "not found".
            raise DomainError(f"Model category '{model_category_name}' not found or is empty", status=404)
        return serve_category_document(request, category.value, fmt, pointer)


def _truthy(value: str | None) -> bool:
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes", "on", "t", "y"):
        return True
    if lowered in ("false", "0", "no", "off", "f", "n", ""):
        return False
    raise DomainError(
        [
            {
                "loc": ["query", "include_group"],
                "msg": "Input should be a valid boolean",
                "type": "bool_parsing",
            }
        ],
        status=422,
    )
