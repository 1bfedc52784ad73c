"""Pieces both API versions use to serve category documents."""

from __future__ import annotations

import orjson
from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import OpenApiResponse

from horde_model_reference.meta_consts import CATEGORIES_MANAGED_ELSEWHERE, MODEL_REFERENCE_CATEGORY
from references.document_cache import (
    CategoryPointer,
    CategorySnapshot,
    category_pointer_get,
    category_snapshot,
    representation_etags,
    representation_or_last_good,
)
from references.http import accepts_gzip, document_response, if_none_match, not_modified

CATEGORY_VALUES = [c.value for c in MODEL_REFERENCE_CATEGORY]
#: The category lists both versions serve (v2 leaves out lora and ti, curated elsewhere).
CATEGORY_LISTS: dict[str, bytes] = {
    "v1": orjson.dumps(CATEGORY_VALUES),
    "v2": orjson.dumps([c.value for c in MODEL_REFERENCE_CATEGORY if c not in CATEGORIES_MANAGED_ELSEWHERE]),
}

CATEGORY_LIST_SCHEMA = {"type": "array", "items": {"type": "string", "enum": CATEGORY_VALUES}}

NOT_MODIFIED_RESPONSE = OpenApiResponse(description="Not modified: the If-None-Match ETag is current.")


def serve_category_document(
    request: HttpRequest, category: str, fmt: str, pointer: CategoryPointer | None = None
) -> HttpResponse:
    """Serve a whole-category document: 304 before any work, else pre-rendered bytes."""
    pointer = pointer or category_pointer_get(category)
    gzip = accepts_gzip(request)
    etag, gzip_etag = representation_etags(category, fmt, pointer.token)
    if if_none_match(request, gzip_etag if gzip else etag):
        return not_modified(gzip_etag if gzip else etag, pointer)
    served_pointer, representation = representation_or_last_good(category_snapshot(category, pointer), fmt)
    return document_response(representation, served_pointer, gzip=gzip)


def current_snapshot(category: str) -> tuple[CategoryPointer, CategorySnapshot]:
    pointer = category_pointer_get(category)
    return pointer, category_snapshot(category, pointer)
