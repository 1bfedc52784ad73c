"""Metadata routes, mounted under both ``/v1/metadata`` and ``/v2/metadata``.

There is one canonical store, so both mounts report the same state.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response

from common.api import PublicReadView
from common.categories import CATEGORY_VALUES, category_param
from common.openapi import VALIDATION_RESPONSE
from references.selectors import categories_metadata, category_metadata, last_updated_overall

CATEGORY_PARAMETER = OpenApiParameter(
    "category", OpenApiTypes.STR, OpenApiParameter.PATH, enum=CATEGORY_VALUES
)


class LastUpdatedView(PublicReadView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, tags=["metadata"])
    def get(self, request: Request) -> Response:
        return Response({"last_updated": last_updated_overall()})


class CategoryLastUpdatedView(PublicReadView):
    @extend_schema(
        parameters=[CATEGORY_PARAMETER],
        responses={200: OpenApiTypes.OBJECT, 422: VALIDATION_RESPONSE},
        tags=["metadata"],
    )
    def get(self, request: Request, category: str) -> Response:
        metadata = category_metadata(category=category_param(category, loc="category"))
        return Response({"category": metadata["category"], "last_updated": metadata["last_updated"]})


class AllMetadataView(PublicReadView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, tags=["metadata"])
    def get(self, request: Request) -> Response:
        return Response(categories_metadata())


class CategoryMetadataView(PublicReadView):
    @extend_schema(
        parameters=[CATEGORY_PARAMETER],
        responses={200: OpenApiTypes.OBJECT, 422: VALIDATION_RESPONSE},
        tags=["metadata"],
    )
    def get(self, request: Request, category: str) -> Response:
        return Response(category_metadata(category=category_param(category, loc="category")))


def _mounted(view: type[PublicReadView], operation_id: str) -> Any:
    """The view for one mount, with an operation id unique across both mounts."""
    subclass: type[PublicReadView] = type(f"{operation_id}_view", (view,), {})
    return extend_schema_view(get=extend_schema(operation_id=operation_id))(subclass).as_view()


def metadata_urlpatterns(prefix: str) -> list[Any]:
    """One module, mounted per API version (URL and operation names are prefixed per mount)."""
    return [
        path("last_updated", _mounted(LastUpdatedView, f"{prefix}_metadata_last_updated")),
        path("metadata", _mounted(AllMetadataView, f"{prefix}_metadata_all")),
        path(
            "<str:category>/last_updated",
            _mounted(CategoryLastUpdatedView, f"{prefix}_metadata_category_last_updated"),
        ),
        path("<str:category>", _mounted(CategoryMetadataView, f"{prefix}_metadata_category")),
    ]
