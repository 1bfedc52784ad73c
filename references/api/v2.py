"""The v2 read API: canonical records, ``{name: record}`` per category, and search."""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import DomainError
from common.openapi import (
    ERROR_RESPONSE,
    VALIDATION_RESPONSE,
    v2_document_schema,
    v2_record_schema,
    v2_search_response_schema,
)
from pending_queue.api.queue import MyRolesView, PendingModelsView
from pending_queue.api.writes import V2AddView, V2CategoryWrites, V2ModelWrites
from references.api.changes import ChangesView
from references.api.common import (
    CATEGORY_LIST_SCHEMA,
    CATEGORY_LISTS,
    CATEGORY_VALUES,
    NOT_MODIFIED_RESPONSE,
    current_snapshot,
    serve_category_document,
)
from references.api.history import (
    AS_OF_PARAMETER,
    HISTORY_SUFFIX,
    V2ModelHistoryView,
    requested_as_of,
    serve_category_as_of,
    serve_model_as_of,
)
from references.api.params import search_params_from_query
from references.document_cache import (
    CategorySnapshot,
    category_pointer_get,
    category_snapshot,
    model_representation_format,
    register_renderer,
    representation_etags,
)
from references.exports import render_v2_document, v2_document_from_entries
from references.http import accepts_gzip, document_response, if_none_match, not_modified, static_answer
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


def v2_category(value: str, *, loc: str = "model_category_name") -> str:
    """The category named in the path, or 422 in the established (validation list) shape."""
    if value in CATEGORY_VALUES:
        return value
    raise DomainError(
        [
            {
                "loc": ["path", loc],
                "msg": "Input should be " + ", ".join(f"'{c}'" for c in CATEGORY_VALUES),
                "type": "enum",
                "input": value,
            }
        ],
        status=422,
    )


CATEGORY_PARAMETER = OpenApiParameter(
    "model_category_name", OpenApiTypes.STR, OpenApiParameter.PATH, enum=CATEGORY_VALUES
)


class ReadView(APIView):
    """A public read: no authentication, no throttling, no content negotiation."""

    authentication_classes = ()
    permission_classes = ()


class V2InfoView(ReadView):
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


class V2ModelCategoriesView(ReadView):
    @extend_schema(
        operation_id="v2_model_categories",
        responses={200: CATEGORY_LIST_SCHEMA, 304: NOT_MODIFIED_RESPONSE},
        tags=["v2"],
    )
    def get(self, request: Request) -> HttpResponse:
        return static_answer(request.META, "v2-categories", CATEGORY_LISTS["v2"]).as_response()


class V2CategoryView(V2CategoryWrites):
    """GET is the public document read (no auth, no SQL when warm); POST queues a create."""

    @extend_schema(
        operation_id="read_v2_reference",
        parameters=[CATEGORY_PARAMETER, AS_OF_PARAMETER],
        responses={200: v2_document_schema(), 304: NOT_MODIFIED_RESPONSE, 422: VALIDATION_RESPONSE},
        tags=["v2"],
        description="Every record of a category as `{name: record}` (`{}` when empty).",
    )
    def get(self, request: Request, model_category_name: str) -> HttpResponse:
        category = v2_category(model_category_name)
        as_of = requested_as_of(request)
        if as_of is not None:
            return serve_category_as_of(request, category, as_of)
        return serve_category_document(request, category, V2_FORMAT)


class V2ModelView(V2ModelWrites):
    """GET is the public record read; PUT/DELETE queue an update/delete."""

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
        category = v2_category(model_category_name)
        as_of = requested_as_of(request)
        if as_of is not None:
            return serve_model_as_of(request, category, model_name, as_of)
        return serve_model(request, category, model_name)


_model_view = V2ModelView.as_view()


class V2ModelHistoryRoute(V2ModelHistoryView):
    """``.../model/<name>/history``: a record's history, unless that path names a record.

    Names may contain ``/``, so ``x/history`` is also a valid record name: while such a
    record exists, the path (and every write or ``as_of`` read on it) is that record's,
    as it was before history existed; its own history is at ``x/history/history``.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        full_name = kwargs["model_name"] + HISTORY_SUFFIX
        if (
            request.method not in ("GET", "HEAD")
            or "as_of" in request.GET
            or _record_exists(kwargs["model_category_name"], full_name)
        ):
            return _model_view(request, *args, **{**kwargs, "model_name": full_name})
        return super().dispatch(request, *args, **kwargs)


def _record_exists(category: str, name: str) -> bool:
    if category not in CATEGORY_VALUES:
        return False
    _, snapshot = current_snapshot(category)
    return name in v2_document(snapshot)


def serve_model(request: HttpRequest, category: str, model_name: str) -> HttpResponse:
    pointer = category_pointer_get(category)
    gzip = accepts_gzip(request)
    etag, gzip_etag = representation_etags(category, model_representation_format(model_name), pointer.token)
    if if_none_match(request, gzip_etag if gzip else etag):
        return not_modified(gzip_etag if gzip else etag, pointer)
    snapshot = category_snapshot(category, pointer)

    def body() -> bytes | None:
        record = v2_document(snapshot).get(model_name)
        return None if record is None else orjson.dumps(record)

    representation = snapshot.model_representation(model_name, body)
    if representation is None:
        raise DomainError(f"Model '{model_name}' not found in category '{category}'", status=404)
    return document_response(representation, snapshot.pointer, gzip=gzip)


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


class V2CategorySearchView(ReadView):
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


class V2SearchView(ReadView):
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


urlpatterns = [
    path("info", V2InfoView.as_view(), name="v2-info"),
    path("model_categories", V2ModelCategoriesView.as_view(), name="v2-model-categories"),
    path("me/roles", MyRolesView.as_view(), name="v2-me-roles"),
    path("search", V2SearchView.as_view(), name="v2-search"),
    path("changes", ChangesView.as_view(), name="v2-changes"),
    path("<str:model_category_name>/add", V2AddView.as_view(), name="v2-category-add"),
    path("<str:model_category_name>/pending", PendingModelsView.as_view(), name="v2-category-pending"),
    path("<str:model_category_name>/search", V2CategorySearchView.as_view(), name="v2-category-search"),
    path(
        "<str:model_category_name>/model/<path:model_name>/history",
        V2ModelHistoryRoute.as_view(),
        name="v2-model-history",
    ),
    path("<str:model_category_name>/model/<path:model_name>", V2ModelView.as_view(), name="v2-model"),
    path("<str:model_category_name>", V2CategoryView.as_view(), name="v2-category"),
]
