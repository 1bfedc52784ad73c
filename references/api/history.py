"""The past of the registry, public like its present.

- ``GET v2/{category}/model/{name}/history``: a record's versions, newest first, with
  who proposed, approved and applied each and the field-level diff to the one before.
- ``?as_of=`` on ``GET v2/{category}`` and ``GET v2/{category}/model/{name}``: the
  document or record as it was, replayed from the audit trail and served with the
  live document's rendering, strong ETags (one per past state), gzip and 304s.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request

from common.api import PublicReadView
from common.categories import CATEGORY_VALUES, category_param
from common.errors import DomainError
from common.openapi import ERROR_RESPONSE, VALIDATION_RESPONSE
from references.api.params import CURSOR_PATTERN, cursor_param, limit_param, query_error
from references.document_cache import CategoryPointer, Representation, model_representation_format
from references.history import (
    V2_FORMAT,
    AsOf,
    as_of_pointer,
    historical_document,
    record_history_page_bytes,
)
from references.http import document_answer

HISTORY_SUFFIX = "/history"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# A revision is an audit sequence number (the change feed's cursor); bounded so it
# always fits the database's 64-bit integer.
_ISO_START = re.compile(r"[0-9]{4}-")

AS_OF_PARAMETER = OpenApiParameter(
    "as_of",
    OpenApiTypes.STR,
    description=(
        "Serve the state as it was at this moment, replayed from the audit trail: an ISO 8601 time "
        "(`2025-06-01T12:00:00Z`; without an offset, UTC) or a revision (an audit event's sequence "
        "number, the `cursor` of `v2/changes` and of a record's history). Before the first change, "
        "a document is `{}` and a record 404. Each past state has its own strong ETag."
    ),
)


def parse_as_of(value: str) -> AsOf:
    """An ``as_of`` query value, or 422 in the established shape."""
    if CURSOR_PATTERN.fullmatch(value):
        return AsOf(sequence=int(value))
    moment: datetime | None = None
    if _ISO_START.match(value) and "\x00" not in value:
        try:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            # Normalising to UTC overflows for the extremes of the year range.
            moment = moment.astimezone(UTC)
        except (ValueError, OverflowError):
            moment = None
    if moment is None:
        raise query_error(
            "as_of", "Input should be an ISO 8601 time or a revision (a non-negative integer)", value
        )
    return AsOf(moment=moment)


def requested_as_of(request: HttpRequest) -> AsOf | None:
    value = request.GET.get("as_of")
    return None if value is None else parse_as_of(value)


def serve_category_as_of(request: HttpRequest, category: str, as_of: AsOf) -> HttpResponse:
    """The v2 document at ``as_of``: 304 from one aggregate query, else replayed once per process."""
    pointer = as_of_pointer(category, as_of)
    answer = document_answer(
        request.META,
        category,
        V2_FORMAT,
        pointer,
        lambda: (pointer, historical_document(category, pointer).representation),
    )
    assert answer is not None  # a replayed document always has its representation
    return answer.as_response()


def serve_model_as_of(request: HttpRequest, category: str, model_name: str, as_of: AsOf) -> HttpResponse:
    pointer = as_of_pointer(category, as_of)

    def representation() -> tuple[CategoryPointer, Representation] | None:
        found = historical_document(category, pointer).model(model_name)
        return None if found is None else (pointer, found)

    answer = document_answer(
        request.META, category, model_representation_format(model_name), pointer, representation
    )
    if answer is None:
        raise DomainError(
            f"Model '{model_name}' did not exist in category '{category}' at that time", status=404
        )
    return answer.as_response()


ACTOR_SCHEMA = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": ["horde", "django", "system"]},
        "id": {"type": "string"},
        "display_name": {"type": "string"},
    },
    "required": ["kind", "id", "display_name"],
}
NULLABLE_ACTOR_SCHEMA = {"oneOf": [ACTOR_SCHEMA, {"type": "null"}]}
FIELD_DIFF_SCHEMA = {
    "type": "object",
    "properties": {
        "field_path": {"type": "string"},
        "old_value": {},
        "new_value": {},
        "change_type": {"type": "string", "enum": ["added", "removed", "modified"]},
    },
    "required": ["field_path", "old_value", "new_value", "change_type"],
}
VERSION_SCHEMA = {
    "type": "object",
    "properties": {
        "cursor": {"type": "string", "description": "This change's audit sequence number."},
        "operation": {"type": "string", "enum": ["create", "update", "delete"]},
        "version": {"type": ["integer", "null"], "description": "The version created (null: deleted)."},
        "previous_version": {"type": ["integer", "null"], "description": "The version replaced."},
        "time": {"type": "integer", "description": "Unix seconds."},
        "source": {"type": "string", "description": "`api`, `admin`, `sync` or `system`."},
        "changed_by": {**ACTOR_SCHEMA, "description": "Who made the change (for a proposal: applied it)."},
        "proposal_id": {"type": ["integer", "null"]},
        "proposed_by": NULLABLE_ACTOR_SCHEMA,
        "approved_by": NULLABLE_ACTOR_SCHEMA,
        "diff": {
            "type": "array",
            "items": FIELD_DIFF_SCHEMA,
            "description": "Field-level changes from the version before.",
        },
    },
    "required": [
        "cursor",
        "operation",
        "version",
        "previous_version",
        "time",
        "source",
        "changed_by",
        "proposal_id",
        "proposed_by",
        "approved_by",
        "diff",
    ],
}
HISTORY_SCHEMA = {
    "type": "object",
    "properties": {
        "category": {"type": "string"},
        "name": {"type": "string"},
        "versions": {"type": "array", "items": VERSION_SCHEMA},
        "next": {
            "type": ["string", "null"],
            "description": "Pass as `before` for the older versions; null on the last page.",
        },
    },
    "required": ["category", "name", "versions", "next"],
}


class V2ModelHistoryView(PublicReadView):
    """Public: the history holds what the documents showed."""

    @extend_schema(
        operation_id="read_v2_model_history",
        parameters=[
            OpenApiParameter(
                "model_category_name", OpenApiTypes.STR, OpenApiParameter.PATH, enum=CATEGORY_VALUES
            ),
            OpenApiParameter("model_name", OpenApiTypes.STR, OpenApiParameter.PATH),
            OpenApiParameter(
                "before",
                OpenApiTypes.STR,
                description="A cursor (`next` of a previous answer); the newest versions if absent.",
            ),
            OpenApiParameter(
                "limit", OpenApiTypes.INT, description=f"1-{MAX_LIMIT}, default {DEFAULT_LIMIT}"
            ),
        ],
        responses={
            200: OpenApiResponse(response=HISTORY_SCHEMA, description="One page of versions, newest first."),
            404: ERROR_RESPONSE,
            422: VALIDATION_RESPONSE,
        },
        tags=["v2"],
        description=(
            "Every version of a record, newest first, deleted records included: who proposed, approved "
            "and applied it, when, the proposal id and the field diff to the version before. A record "
            "literally named `<name>/history` is served by this path as a record (it takes precedence); "
            "its own history is at `.../model/<name>/history/history`."
        ),
    )
    def get(self, request: Request, model_category_name: str, model_name: str) -> HttpResponse:
        category = category_param(model_category_name)
        before = cursor_param(request.query_params.get("before"), name="before")
        limit = limit_param(request.query_params.get("limit"), default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
        # A name SQL cannot hold (NUL, a lone surrogate) was never a record; asking the
        # database would be an error, not an answer.
        storable = "\x00" not in model_name and model_name.encode("utf-8", "replace").decode() == model_name
        body = (
            record_history_page_bytes(category=category, name=model_name, before=before, limit=limit)
            if storable
            else None
        )
        if body is None:
            raise DomainError(f"Model '{model_name}' never existed in category '{category}'", status=404)
        return HttpResponse(body, content_type="application/json")
