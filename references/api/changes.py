"""The change feed: ``GET v2/changes?since=<cursor>&limit=N``, record changes in commit order.

Read from the audit trail, so a mirror or dashboard can follow the registry without
downloading whole documents: keep ``next`` and ask again with ``since=<next>``.
"""

from __future__ import annotations

import orjson
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request

from audit.selectors import record_changes_after
from common.api import PublicReadView
from common.openapi import VALIDATION_RESPONSE
from references.api.params import cursor_param, limit_param

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# A cursor is an audit sequence number written as digits: opaque to clients, and bounded
# so it always fits the database's 64-bit integer.

CHANGE_SCHEMA = {
    "type": "object",
    "properties": {
        "cursor": {"type": "string", "description": "This change's position; `since` resumes after it."},
        "category": {"type": "string"},
        "name": {"type": "string"},
        "operation": {"type": "string", "enum": ["create", "update", "delete"]},
        "version": {
            "type": ["integer", "null"],
            "description": "The record's version after (null: deleted).",
        },
        "previous_version": {"type": ["integer", "null"], "description": "Before (null: created)."},
        "time": {"type": "integer", "description": "Unix seconds."},
        "source": {"type": "string", "description": "`api`, `admin`, `sync` or `system`."},
        "proposal_id": {"type": ["integer", "null"], "description": "The applied proposal, if any."},
    },
    "required": [
        "cursor",
        "category",
        "name",
        "operation",
        "version",
        "previous_version",
        "time",
        "source",
        "proposal_id",
    ],
}
CHANGES_SCHEMA = {
    "type": "object",
    "properties": {
        "changes": {"type": "array", "items": CHANGE_SCHEMA},
        "next": {"type": "string", "description": "Pass as `since` for the following page."},
        "has_more": {"type": "boolean"},
    },
    "required": ["changes", "next", "has_more"],
}


class ChangesView(PublicReadView):
    """Public: the feed holds what the documents already show."""

    @extend_schema(
        operation_id="v2_changes",
        parameters=[
            OpenApiParameter(
                "since",
                OpenApiTypes.STR,
                description="A cursor (`next` of a previous answer); from the start if absent.",
            ),
            OpenApiParameter(
                "limit", OpenApiTypes.INT, description=f"1-{MAX_LIMIT}, default {DEFAULT_LIMIT}"
            ),
        ],
        responses={
            200: OpenApiResponse(response=CHANGES_SCHEMA, description="One page of changes, oldest first."),
            422: VALIDATION_RESPONSE,
        },
        tags=["v2"],
        description=(
            "Record changes in commit order (create/update/delete, with versions, time and the "
            "applied proposal), cursor-paginated. Poll with `since=<next>` to follow the registry."
        ),
    )
    def get(self, request: Request) -> HttpResponse:
        since = cursor_param(request.query_params.get("since"), name="since") or 0
        limit = limit_param(request.query_params.get("limit"), default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
        page = record_changes_after(sequence=since, limit=limit)
        body = {"changes": page.changes, "next": str(page.next_sequence), "has_more": page.has_more}
        return HttpResponse(orjson.dumps(body), content_type="application/json")
