"""The change feed: ``GET v2/changes?since=<cursor>&limit=N``, record changes in commit order.

Read from the audit trail, so a mirror or dashboard can follow the registry without
downloading whole documents: keep ``next`` and ask again with ``since=<next>``.
"""

from __future__ import annotations

import re

import orjson
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from audit.selectors import record_changes_after
from common.errors import DomainError
from common.openapi import VALIDATION_RESPONSE

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# A cursor is an audit sequence number written as digits: opaque to clients, and bounded
# so it always fits the database's 64-bit integer.
_CURSOR = re.compile(r"[0-9]{1,18}")

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


def _query_error(name: str, msg: str, value: str) -> DomainError:
    return DomainError(
        [{"loc": ["query", name], "msg": msg, "type": "value_error", "input": value}], status=422
    )


def _since(value: str | None) -> int:
    if value is None or value == "":
        return 0
    if not _CURSOR.fullmatch(value):
        raise _query_error("since", "Input should be a cursor from a previous answer (`next`)", value)
    return int(value)


def _limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not re.fullmatch(r"[0-9]{1,6}", value) or not 1 <= int(value) <= MAX_LIMIT:
        raise _query_error("limit", f"Input should be an integer from 1 to {MAX_LIMIT}", value)
    return int(value)


class ChangesView(APIView):
    """Public: the feed holds what the documents already show."""

    authentication_classes = ()
    permission_classes = ()

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
        since = _since(request.query_params.get("since"))
        limit = _limit(request.query_params.get("limit"))
        page = record_changes_after(sequence=since, limit=limit)
        body = {"changes": page.changes, "next": str(page.next_sequence), "has_more": page.has_more}
        return HttpResponse(orjson.dumps(body), content_type="application/json")
