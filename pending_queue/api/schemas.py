"""Request and response shapes of the pending-queue routes (validation and OpenAPI)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from pending_queue.api.common import ALL_CATEGORIES, ERROR, PendingChangeRecordSerializer
from pending_queue.models import Status

STATUSES = [s.value for s in Status]
#: Ids are PostgreSQL bigints: a larger number must be a 422, not a database error.
MAX_ID = 2**63 - 1
#: Far beyond any queue; keeps slicing and SQL OFFSET within every backend's range.
MAX_OFFSET = 2**31 - 1

# --- requests --------------------------------------------------------------------


class PageQuery(serializers.Serializer[Any]):
    statuses = serializers.ListField(child=serializers.ChoiceField(choices=STATUSES), required=False)
    categories = serializers.ListField(child=serializers.ChoiceField(choices=ALL_CATEGORIES), required=False)
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=500, default=50)


class ChangesQuery(PageQuery):
    batch_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    model_name = serializers.CharField(min_length=1, max_length=200, required=False)
    requested_by = serializers.ListField(child=serializers.CharField(), required=False)


class DiffsQuery(serializers.Serializer[Any]):
    change_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), min_length=1, max_length=100
    )


class BatchRequest(serializers.Serializer[Any]):
    batch_title = serializers.CharField(max_length=120, trim_whitespace=True)
    approved_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), default=list
    )
    rejected_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), default=list
    )
    reject_reason = serializers.CharField(
        max_length=500, required=False, allow_blank=True, allow_null=True, default=""
    )


class ApplyOneRequest(serializers.Serializer[Any]):
    job_id = serializers.CharField(max_length=120, required=False, allow_null=True)


class ApplyRequest(serializers.Serializer[Any]):
    change_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), min_length=1
    )
    job_id = serializers.CharField(max_length=120, required=False, allow_null=True)
    allow_mixed_batch = serializers.BooleanField(default=False)


class JobQuery(serializers.Serializer[Any]):
    job_id = serializers.CharField(max_length=120, required=False)


class PurgeRequest(serializers.Serializer[Any]):
    statuses = serializers.ListField(child=serializers.ChoiceField(choices=STATUSES), default=list)
    categories = serializers.ListField(child=serializers.ChoiceField(choices=ALL_CATEGORIES), default=list)
    model_name = serializers.CharField(max_length=200, required=False, allow_null=True, allow_blank=True)
    requested_by = serializers.ListField(child=serializers.CharField(allow_blank=True), default=list)
    purge_all = serializers.BooleanField(default=False)
    dry_run = serializers.BooleanField(default=False)


# --- response shapes -------------------------------------------------------------

PAGE = inline_serializer(
    "PendingQueuePage",
    {
        "items": PendingChangeRecordSerializer(many=True),
        "total": serializers.IntegerField(),
        "offset": serializers.IntegerField(),
        "limit": serializers.IntegerField(),
    },
)


class FieldDiffSerializer(serializers.Serializer[Any]):
    field_path = serializers.CharField()
    old_value = serializers.JSONField(allow_null=True)
    new_value = serializers.JSONField(allow_null=True)
    change_type = serializers.ChoiceField(choices=["added", "removed", "modified"])


class PendingChangeDiffSerializer(serializers.Serializer[Any]):
    """Documentation only: the shape built by ``pending_queue.selectors.proposal_diff``."""

    change_id = serializers.IntegerField()
    category = serializers.CharField()
    model_name = serializers.CharField()
    operation = serializers.ChoiceField(choices=["create", "update", "delete"])
    current_state = serializers.JSONField(allow_null=True)
    proposed_state = serializers.JSONField(allow_null=True)
    net_operation = serializers.ChoiceField(choices=["added", "modified", "deleted", "unchanged"])
    field_diffs = FieldDiffSerializer(many=True)
    is_critical = serializers.BooleanField()
    fields_added = serializers.IntegerField()
    fields_removed = serializers.IntegerField()
    fields_modified = serializers.IntegerField()
    base_version = serializers.IntegerField(allow_null=True)
    current_version = serializers.IntegerField(allow_null=True)
    is_stale = serializers.BooleanField()


DIFF_PAGE = inline_serializer(
    "PendingChangeDiffPage",
    {
        "diffs": PendingChangeDiffSerializer(many=True),
        "total": serializers.IntegerField(),
        "errors": inline_serializer(
            "PendingChangeDiffError",
            {
                "change_id": serializers.IntegerField(),
                "error": serializers.CharField(),
                "error_type": serializers.CharField(),
            },
            many=True,
        ),
    },
)
BATCH_RESULT = inline_serializer(
    "PendingBatchResult",
    {
        "batch_id": serializers.IntegerField(allow_null=True),
        "batch_title": serializers.CharField(),
        "approved": PendingChangeRecordSerializer(many=True),
        "rejected": PendingChangeRecordSerializer(many=True),
    },
)
APPLY_ONE_RESULT = inline_serializer(
    "ApplySingleChangeResponse",
    {"record": PendingChangeRecordSerializer(), "batch_split_occurred": serializers.BooleanField()},
)
APPLY_RESULT = inline_serializer(
    "ApplyPendingChangesResponse",
    {
        "applied": PendingChangeRecordSerializer(many=True),
        "failed_change_id": serializers.IntegerField(required=False),
        "failed_error": serializers.CharField(required=False),
        "failed_error_type": serializers.CharField(required=False),
        "batch_split_occurred": serializers.BooleanField(),
    },
)
APPLY_FAILED = OpenApiResponse(
    # A precondition (unknown id or batch, wrong state) answers before anything is applied.
    {
        "oneOf": [
            {"$ref": "#/components/schemas/ApplyPendingChangesResponse"},
            {"$ref": "#/components/schemas/ErrorDetail"},
        ]
    },
    description=(
        "An apply failed: the changes before it stay applied and the body says which failed; "
        "or a precondition failed before anything was applied (`{detail}`)."
    ),
)
PURGE_RESULT = inline_serializer(
    "PurgePendingChangesResponse",
    {
        "removed_count": serializers.IntegerField(),
        "removed_change_ids": serializers.ListField(child=serializers.IntegerField()),
        "dry_run": serializers.BooleanField(),
    },
)
ROLES = inline_serializer(
    "UserRoles",
    {
        "user_id": serializers.CharField(),
        "username": serializers.CharField(),
        "roles": serializers.ListField(child=serializers.ChoiceField(choices=["approver", "requestor"])),
        "is_approver": serializers.BooleanField(),
        "is_requestor": serializers.BooleanField(),
    },
)
CHANGE_ID_PARAMETER = OpenApiParameter("change_id", OpenApiTypes.INT, OpenApiParameter.PATH)
CATEGORY_PARAMETER = OpenApiParameter(
    "model_category_name", OpenApiTypes.STR, OpenApiParameter.PATH, enum=ALL_CATEGORIES
)
NOT_FOUND = OpenApiResponse(ERROR.response, description="The change (or batch) does not exist.")
STATE_ERROR = OpenApiResponse(ERROR.response, description="The change is not in a state that allows this.")
REVIEW_ERROR = OpenApiResponse(
    ERROR.response, description="A change does not exist, or is not in a state that allows this."
)
CONFLICT = OpenApiResponse(ERROR.response, description="The record changed since the proposal (stale).")
