"""The v2 read API: canonical records, ``{name: record}`` per category, and search."""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from common.api import PublicReadView
from common.categories import CATEGORY_VALUES, category_param
from common.errors import DomainError
from common.openapi import (
    ERROR_RESPONSE,
    VALIDATION_RESPONSE,
    v2_document_schema,
    v2_record_schema,
    v2_search_response_schema,
)
from references.api.common import (
    CATEGORY_LIST_SCHEMA,
    CATEGORY_LISTS,
    NOT_MODIFIED_RESPONSE,
    current_snapshot,
    serve_category_document,
)
from references.api.history import (
    AS_OF_PARAMETER,
    requested_as_of,
    serve_category_as_of,
    serve_model_as_of,
)
from references.api.params import search_params_from_query
from references.document_cache import (
    CategoryPointer,
    CategorySnapshot,
    Representation,
    category_pointer_get,
    category_snapshot,
    model_representation_format,
    register_renderer,
)
from references.exports import render_v2_document, v2_document_from_entries
from references.http import document_answer, static_answer
from references.search import search_all, search_category

V2_FORMAT = "v2"
#: ``lora`` and ``ti`` are curated elsewhere; they are listed only by v1 (as ``{}``).


def v2_document(snapshot: CategorySnapshot) -> dict[str, Any]:
    """The parsed v2 document of a snapshot, built once per revision."""
    document: dict[str, Any] = snapshot.memo(
        "v2-document", lambda: v2_document_from_entries(snapshot.category, snapshot.entries)
    )
    return document


register_renderer(V2_FORMAT, lambda snapshot: render_v2_document(v2_document(snapshot)))


CATEGORY_PARAMETER = OpenApiParameter(
    "model_category_name", OpenApiTypes.STR, OpenApiParameter.PATH, enum=CATEGORY_VALUES
)


class V2InfoView(PublicReadView):
    """A public read: no authentication, no throttling, no content negotiation."""

    @extend_schema(operation_id="v2_info", responses={200: OpenApiTypes.OBJECT}, tags=["v2"])
    def get(self, request: Request) -> Response:
        return Response(
            {
                "message": (
                    "v2 model references: the canonical, typed records of every category, served as "
                    "{name: record}. Documents carry strong ETags; send If-None-Match to get a 304."
                )
            }
        )


class V2ModelCategoriesView(PublicReadView):
    """A public read: no authentication, no throttling, no content negotiation."""

    @extend_schema(
        operation_id="v2_model_categories",
        responses={200: CATEGORY_LIST_SCHEMA, 304: NOT_MODIFIED_RESPONSE},
        tags=["v2"],
    )
    def get(self, request: Request) -> HttpResponse:
        return static_answer(request.META, "v2-categories", CATEGORY_LISTS["v2"]).as_response()


class V2CategoryReads:
    """The public document read of ``v2/{category}`` (no auth, no SQL when warm).

    A mixin, composed with the path's queued create in ``config.api``.
    """

    @extend_schema(
        operation_id="read_v2_reference",
        parameters=[CATEGORY_PARAMETER, AS_OF_PARAMETER],
        responses={200: v2_document_schema(), 304: NOT_MODIFIED_RESPONSE, 422: VALIDATION_RESPONSE},
        tags=["v2"],
        description="Every record of a category as `{name: record}` (`{}` when empty).",
    )
    def get(self, request: Request, model_category_name: str) -> HttpResponse:
        category = category_param(model_category_name)
        as_of = requested_as_of(request)
        if as_of is not None:
            return serve_category_as_of(request, category, as_of)
        return serve_category_document(request, category, V2_FORMAT)


class V2ModelReads:
    """The public record read of ``v2/{category}/model/{name}``.

    A mixin, composed with the path's queued update and delete in ``config.api``.
    """

    @extend_schema(
        operation_id="read_v2_single_model",
        parameters=[
            CATEGORY_PARAMETER,
            OpenApiParameter("model_name", OpenApiTypes.STR, OpenApiParameter.PATH),
            AS_OF_PARAMETER,
        ],
        responses={
            200: v2_record_schema(),
            304: NOT_MODIFIED_RESPONSE,
            404: ERROR_RESPONSE,
            422: VALIDATION_RESPONSE,
        },
        tags=["v2"],
        description="One record. The name may contain `/`, spaces, dots, `+`, `#` (encoded) and any Unicode.",
    )
    def get(self, request: Request, model_category_name: str, model_name: str) -> HttpResponse:
        category = category_param(model_category_name)
        as_of = requested_as_of(request)
        if as_of is not None:
            return serve_model_as_of(request, category, model_name, as_of)
        return serve_model(request, category, model_name)


def category_v2_records(category: str) -> tuple[str, dict[str, Any]]:
    """The category's revision token and its current records ``{name: v2 record}``.

    Built once per revision and shared with the document reads (the statistics routes
    read the records this way).
    """
    pointer, snapshot = current_snapshot(category)
    return pointer.token, v2_document(snapshot)


def record_exists(category: str, name: str) -> bool:
    """True when the category's current document holds a record of that name."""
    if category not in CATEGORY_VALUES:
        return False
    return name in category_v2_records(category)[1]


def serve_model(request: HttpRequest, category: str, model_name: str) -> HttpResponse:
    pointer = category_pointer_get(category)

    def representation() -> tuple[CategoryPointer, Representation] | None:
        snapshot = category_snapshot(category, pointer)

        def body() -> bytes | None:
            record = v2_document(snapshot).get(model_name)
            return None if record is None else orjson.dumps(record)

        found = snapshot.model_representation(model_name, body)
        return None if found is None else (snapshot.pointer, found)

    answer = document_answer(
        request.META, category, model_representation_format(model_name), pointer, representation
    )
    if answer is None:
        raise DomainError(f"Model '{model_name}' not found in category '{category}'", status=404)
    return answer.as_response()


SEARCH_PARAMETERS = [
    OpenApiParameter("nsfw", OpenApiTypes.BOOL),
    OpenApiParameter("baseline", OpenApiTypes.STR),
    OpenApiParameter("inpainting", OpenApiTypes.BOOL),
    OpenApiParameter("tags_any", OpenApiTypes.STR, many=True),
    OpenApiParameter("tags_all", OpenApiTypes.STR, many=True),
    OpenApiParameter("tags_none", OpenApiTypes.STR, many=True),
    OpenApiParameter("name_contains", OpenApiTypes.STR),
    OpenApiParameter("sort_by", OpenApiTypes.STR),
    OpenApiParameter("sort_desc", OpenApiTypes.BOOL),
    OpenApiParameter("limit", OpenApiTypes.INT, description="1-500, default 50"),
    OpenApiParameter("offset", OpenApiTypes.INT, description=">= 0, default 0"),
]
TEXT_ONLY = "text_generation only; other categories ignore it."
CATEGORY_SEARCH_PARAMETERS = [
    *SEARCH_PARAMETERS,
    OpenApiParameter("backend", OpenApiTypes.STR, enum=["aphrodite", "koboldcpp"], description=TEXT_ONLY),
    OpenApiParameter("exclude_backend_variations", OpenApiTypes.BOOL, description=TEXT_ONLY),
    OpenApiParameter("quantized", OpenApiTypes.BOOL, description=TEXT_ONLY),
    OpenApiParameter("source", OpenApiTypes.STR, enum=["horde"]),
]


class V2CategorySearchView(PublicReadView):
    """A public read: no authentication, no throttling, no content negotiation."""

    @extend_schema(
        operation_id="search_v2_category",
        parameters=[CATEGORY_PARAMETER, *CATEGORY_SEARCH_PARAMETERS],
        responses={200: v2_search_response_schema(), 400: ERROR_RESPONSE, 422: VALIDATION_RESPONSE},
        tags=["v2 search"],
    )
    def get(self, request: Request, model_category_name: str) -> HttpResponse:
        category = model_category_name
        if category not in CATEGORY_VALUES:
            raise DomainError(f"Unknown category '{category}'. Valid: {CATEGORY_VALUES}", status=422)
        params = search_params_from_query(request.query_params, per_category=True)
        _, snapshot = current_snapshot(category)
        result = search_category(category, list(v2_document(snapshot).items()), params)
        return HttpResponse(orjson.dumps(result.as_dict()), content_type="application/json")


class V2SearchView(PublicReadView):
    @extend_schema(
        operation_id="search_v2_all",
        parameters=SEARCH_PARAMETERS,
        responses={200: v2_search_response_schema(), 400: ERROR_RESPONSE, 422: VALIDATION_RESPONSE},
        tags=["v2 search"],
        description=(
            "Search every category. `nsfw`, `baseline` and `inpainting` keep only records whose type has "
            "that field with that value. Any other query parameter is refused with 422."
        ),
    )
    def get(self, request: Request) -> HttpResponse:
        params = search_params_from_query(request.query_params, per_category=False)
        records: list[tuple[str, str, dict[str, Any]]] = []
        for category in CATEGORY_VALUES:
            _, snapshot = current_snapshot(category)
            records.extend((category, name, record) for name, record in v2_document(snapshot).items())
        result = search_all(records, params)
        return HttpResponse(orjson.dumps(result.as_dict()), content_type="application/json")
