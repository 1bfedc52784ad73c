"""The queue's audit routes, one module mounted under ``/v1/pending_queue/audit`` and ``/v2/...``.

Any valid identity may read them (the established "transparency surface"). Checks run
in the established order: identity (401/403/503), then the query (422), then existence
(404). The answers are replayed from the audit trail (``pending_queue.audit_selectors``).
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from common.errors import DomainError
from pending_queue.api.common import AUTH_ERRORS, ERROR, VALIDATION_ERROR, CurationView, text_param, validated
from pending_queue.api.schemas import MAX_ID, FieldDiffSerializer
from pending_queue.audit_selectors import (
    DOMAINS,
    audit_batch,
    audit_batch_net_changes,
    audit_batches,
    audit_current,
)
from pending_queue.auth import READER

TAGS = ["pending queue audit"]
BATCH_NOT_FOUND = "Batch not found"

# --- input -----------------------------------------------------------------------


class DomainQuery(serializers.Serializer[Any]):
    domain_override = serializers.ChoiceField(choices=list(DOMAINS), required=False)


class BatchesQuery(DomainQuery):
    cursor = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)


def _query(request: Request, serializer: type[serializers.Serializer[Any]]) -> dict[str, Any]:
    for key, values in request.query_params.lists():
        for value in values:
            text_param(value, ["query", key])
    data = validated(serializer(data=request.query_params), "query")
    # One store serves both domains here: the override only labels the answer.
    data["domain"] = data.get("domain_override") or "v2"
    return data


def _batch_id(value: str) -> int:
    """The path's batch id; 422 (not 404) for a non-integer, as the established API."""
    if value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_ID:
        return int(value)
    raise DomainError(
        [{"loc": ["path", "batch_id"], "msg": "Input should be a positive integer", "type": "int_parsing"}],
        status=422,
    )


# --- OpenAPI shapes (documentation only) -------------------------------------------


class AuditEventSerializer(serializers.Serializer[Any]):
    event_id = serializers.IntegerField()
    timestamp = serializers.IntegerField(help_text="unix seconds")
    action = serializers.CharField()
    logical_user_id = serializers.CharField()
    logical_username = serializers.CharField()
    payload = serializers.DictField()


class AuditChangeSerializer(serializers.Serializer[Any]):
    change_id = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=["pending", "approved", "applied", "rejected", "withdrawn", "superseded", "purged"]
    )
    operation = serializers.CharField(allow_null=True)
    category = serializers.CharField()
    model_name = serializers.CharField()
    requested_by = serializers.CharField(allow_null=True)
    requested_at = serializers.IntegerField(allow_null=True)
    approved_by = serializers.CharField(allow_null=True)
    approved_at = serializers.IntegerField(allow_null=True)
    rejected_by = serializers.CharField(allow_null=True)
    rejected_at = serializers.IntegerField(allow_null=True)
    reject_reason = serializers.CharField(allow_null=True)
    applied_by = serializers.CharField(allow_null=True)
    applied_at = serializers.IntegerField(allow_null=True)
    applied_job_id = serializers.CharField(allow_null=True)
    batch_id = serializers.IntegerField(allow_null=True)
    batch_title = serializers.CharField(allow_null=True)
    events = AuditEventSerializer(many=True)


class CurrentSerializer(serializers.Serializer[Any]):
    domain = serializers.ChoiceField(choices=list(DOMAINS))
    pending_changes = AuditChangeSerializer(many=True)
    total_pending = serializers.IntegerField()
    generated_at = serializers.IntegerField(help_text="unix seconds")


class BatchSummarySerializer(serializers.Serializer[Any]):
    batch_id = serializers.IntegerField()
    batch_title = serializers.CharField(allow_null=True)
    approved_by = serializers.CharField(allow_null=True)
    approved_at = serializers.IntegerField(allow_null=True)
    applied_at = serializers.IntegerField(allow_null=True)
    approved_change_count = serializers.IntegerField()
    rejected_change_count = serializers.IntegerField()
    applied_change_count = serializers.IntegerField()
    total_change_count = serializers.IntegerField()
    last_event_id = serializers.IntegerField()


class BatchesSerializer(serializers.Serializer[Any]):
    domain = serializers.ChoiceField(choices=list(DOMAINS))
    batches = BatchSummarySerializer(many=True)
    next_cursor = serializers.IntegerField(allow_null=True)


class BatchDetailSerializer(BatchSummarySerializer):
    domain = serializers.ChoiceField(choices=list(DOMAINS))
    changes = AuditChangeSerializer(many=True)


class ModelNetChangeSerializer(serializers.Serializer[Any]):
    model_name = serializers.CharField()
    category = serializers.CharField()
    net_operation = serializers.ChoiceField(choices=["added", "modified", "deleted", "unchanged"])
    before_state = serializers.DictField(allow_null=True)
    after_state = serializers.DictField(allow_null=True)
    field_diffs = FieldDiffSerializer(many=True)
    is_critical = serializers.BooleanField()


class NetChangesSerializer(serializers.Serializer[Any]):
    batch_id = serializers.IntegerField()
    batch_title = serializers.CharField(allow_null=True)
    domain = serializers.ChoiceField(choices=list(DOMAINS))
    model_changes = ModelNetChangeSerializer(many=True)
    models_added = serializers.IntegerField()
    models_modified = serializers.IntegerField()
    models_deleted = serializers.IntegerField()
    models_unchanged = serializers.IntegerField()
    total_field_changes = serializers.IntegerField()
    has_critical_changes = serializers.BooleanField()
    generated_at = serializers.IntegerField(help_text="unix seconds")


BATCH_ID_PARAMETER = OpenApiParameter("batch_id", OpenApiTypes.INT, OpenApiParameter.PATH)


def _responses(ok: Any, *, not_found: bool = False) -> dict[int, Any]:
    answers: dict[int, Any] = {**AUTH_ERRORS, 200: ok, 422: VALIDATION_ERROR}
    if not_found:
        answers[404] = ERROR
    return answers


# --- views -----------------------------------------------------------------------


class AuditCurrentView(CurationView):
    required_role = READER

    @extend_schema(
        parameters=[DomainQuery],
        responses=_responses(CurrentSerializer),
        tags=TAGS,
        description="The changes still pending according to the audit trail, newest first.",
    )
    def get(self, request: Request) -> Response:
        query = _query(request, DomainQuery)
        return Response(audit_current(domain=query["domain"]))


class AuditBatchesView(CurationView):
    required_role = READER

    @extend_schema(
        parameters=[BatchesQuery],
        responses=_responses(BatchesSerializer),
        tags=TAGS,
        description=(
            "Review batches, newest first (reject-only batches included). `cursor` keeps batches whose id "
            "is below it; `next_cursor` is set when more exist."
        ),
    )
    def get(self, request: Request) -> Response:
        query = _query(request, BatchesQuery)
        return Response(
            audit_batches(domain=query["domain"], cursor=query.get("cursor"), limit=query["limit"])
        )


class AuditBatchView(CurationView):
    required_role = READER

    @extend_schema(
        parameters=[BATCH_ID_PARAMETER, DomainQuery],
        responses=_responses(BatchDetailSerializer, not_found=True),
        tags=TAGS,
        description="One batch's summary and the full timelines of its changes.",
    )
    def get(self, request: Request, batch_id: str) -> Response:
        number = _batch_id(batch_id)
        query = _query(request, DomainQuery)
        detail = audit_batch(domain=query["domain"], batch_id=number)
        if detail is None:
            raise DomainError(BATCH_NOT_FOUND, status=404)
        return Response(detail)


class AuditBatchNetChangesView(CurationView):
    required_role = READER

    @extend_schema(
        parameters=[BATCH_ID_PARAMETER, DomainQuery],
        responses=_responses(NetChangesSerializer, not_found=True),
        tags=TAGS,
        description="The net effect of the batch's applied changes on each record, with field diffs.",
    )
    def get(self, request: Request, batch_id: str) -> Response:
        number = _batch_id(batch_id)
        query = _query(request, DomainQuery)
        result = audit_batch_net_changes(domain=query["domain"], batch_id=number)
        if result is None:
            raise DomainError(BATCH_NOT_FOUND, status=404)
        return Response(result)


# --- mounting --------------------------------------------------------------------


def audit_urlpatterns(prefix: str) -> list[URLPattern]:
    """One module, two mounts (``v1``, ``v2``), like the queue it audits (DECISIONS 17)."""
    routes: list[tuple[str, type[CurationView], str]] = [
        ("current", AuditCurrentView, "current"),
        ("batches", AuditBatchesView, "batches"),
        ("batches/<str:batch_id>", AuditBatchView, "batch"),
        ("batches/<str:batch_id>/net_changes", AuditBatchNetChangesView, "batch_net_changes"),
    ]
    patterns = []
    for route, view, name in routes:
        operation_id = f"{prefix}_pending_queue_audit_{name}"
        subclass: type[CurationView] = type(f"{operation_id}_view", (view,), {})
        mounted = extend_schema_view(get=extend_schema(operation_id=operation_id))(subclass).as_view()
        patterns.append(path(route, mounted, name=f"{prefix}-pending-queue-audit-{name}"))
    return patterns
