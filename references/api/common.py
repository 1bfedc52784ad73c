"""Pieces both API versions use to serve category documents."""

from __future__ import annotations

import orjson
from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import OpenApiResponse

from common.categories import CATEGORY_VALUES
from horde_model_reference.meta_consts import CATEGORIES_MANAGED_ELSEWHERE, MODEL_REFERENCE_CATEGORY
from references.document_cache import (
    CategoryPointer,
    CategorySnapshot,
    category_pointer_get,
    category_snapshot,
    representation_or_last_good,
)
from references.http import document_answer

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
    current = pointer or category_pointer_get(category)
    answer = document_answer(
        request.META,
        category,
        fmt,
        current,
        lambda: representation_or_last_good(category_snapshot(category, current), fmt),
    )
    assert answer is not None  # a loaded snapshot always has (the last good) representation
    return answer.as_response()


def current_snapshot(category: str) -> tuple[CategoryPointer, CategorySnapshot]:
    pointer = category_pointer_get(category)
    return pointer, category_snapshot(category, pointer)
