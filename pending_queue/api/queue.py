"""The pending-queue routes, one module mounted under ``/v1/pending_queue`` and ``/v2/pending_queue``.

Also ``GET /v2/{category}/pending`` (the not-yet-applied "beta" records) and
``GET /v2/me/roles``. Reads need any valid identity ("reader": the queue is a
transparency surface); reviewing, applying and purging need the approver role.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from common.categories import category_param
from common.errors import DomainError
from pending_queue.api.common import (
    ALL_CATEGORIES,
    AUTH_ERRORS,
    ERROR,
    VALIDATION_ERROR,
    CurationView,
    PendingChangeRecordSerializer,
    record_wire,
    request_body,
    text_param,
    validated,
)
from pending_queue.api.schemas import (
    APPLY_FAILED,
    APPLY_ONE_RESULT,
    APPLY_RESULT,
    BATCH_RESULT,
    CHANGE_ID_PARAMETER,
    CONFLICT,
    DIFF_PAGE,
    MAX_ID,
    NOT_FOUND,
    PAGE,
    PURGE_RESULT,
    REVIEW_ERROR,
    ROLES,
    STATE_ERROR,
    ApplyOneRequest,
    ApplyRequest,
    BatchRequest,
    ChangesQuery,
    DiffsQuery,
    JobQuery,
    PageQuery,
    PendingChangeDiffSerializer,
    PurgeRequest,
)
from pending_queue.auth import APPROVER, READER, REQUESTOR, identity_of
from pending_queue.models import ChangeProposal
from pending_queue.selectors import (
    ProposalFilters,
    pending_models,
    proposal_as_dict,
    proposal_diff,
    proposal_get,
    proposal_queryset,
)
from pending_queue.services import (
    ApplyOutcome,
    apply_preconditions,
    batch_apply,
    batch_review,
    proposal_apply,
    proposal_rebase,
    proposal_withdraw,
    proposals_apply,
    proposals_purge,
)

CHANGE_NOT_FOUND = "Change not found"
TAGS = ["pending queue"]


# --- input ---------------------------------------------------------------------


def _trimmed_unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values if v.strip()))


def _query(request: Request, serializer: type[serializers.Serializer[Any]]) -> dict[str, Any]:
    # PostgreSQL refuses NUL in query parameters (a 500 otherwise): refuse it first.
    for key, values in request.query_params.lists():
        for value in values:
            text_param(value, ["query", key])
    return validated(serializer(data=request.query_params), "query")


def _body(request: Request, serializer: type[serializers.Serializer[Any]]) -> dict[str, Any]:
    return validated(serializer(data=request_body(request)), "body")


def _change_id(value: str) -> int:
    """The path's change id; 422 (not 404) for a non-integer, as the established API."""
    if value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_ID:
        return int(value)
    raise DomainError(
        [{"loc": ["path", "change_id"], "msg": "Input should be a positive integer", "type": "int_parsing"}],
        status=422,
    )


def _found(change_id: int) -> ChangeProposal:
    proposal = proposal_get(change_id)
    if proposal is None:
        raise DomainError(CHANGE_NOT_FOUND, status=404)
    return proposal


def _with_auth(responses: dict[int, Any]) -> dict[int, Any]:
    return {**AUTH_ERRORS, **responses}


def _apply_response(outcome: ApplyOutcome) -> Response:
    body: dict[str, Any] = {"applied": [record_wire(p) for p in outcome.applied]}
    status = 200
    if outcome.failure is not None:
        body["failed_change_id"] = outcome.failure.change_id
        body["failed_error"] = outcome.failure.error
        body["failed_error_type"] = outcome.failure.error_type
        status = outcome.failure.status
    # Batches are never renumbered on a partial apply here (DECISIONS: differ #11).
    body["batch_split_occurred"] = False
    return Response(body, status=status)


# --- views -----------------------------------------------------------------------


class ChangesView(CurationView):
    required_role = READER

    @extend_schema(
        parameters=[ChangesQuery],
        responses=_with_auth({200: PAGE, 422: VALIDATION_ERROR}),
        tags=TAGS,
        description="Every proposal, filtered (all filters combine with AND), by change id.",
    )
    def get(self, request: Request) -> Response:
        query = _query(request, ChangesQuery)
        filters = ProposalFilters(
            statuses=query.get("statuses", ()),
            categories=query.get("categories", ()),
            batch_id=query.get("batch_id"),
            model_name=query.get("model_name"),
            requested_by=_trimmed_unique(query.get("requested_by", [])),
        )
        return Response(_page(filters, query["offset"], query["limit"]))


def _page(filters: ProposalFilters, offset: int, limit: int, *, requester_kind: str = "") -> dict[str, Any]:
    proposals = proposal_queryset(filters)
    if requester_kind:
        proposals = proposals.filter(requested_by_kind=requester_kind)
    total = proposals.count()
    items = [proposal_as_dict(p) for p in proposals[offset : offset + limit]]
    return {"items": items, "total": total, "offset": offset, "limit": limit}


class MyChangesView(CurationView):
    required_role = REQUESTOR

    @extend_schema(
        parameters=[PageQuery],
        responses=_with_auth({200: PAGE, 422: VALIDATION_ERROR}),
        tags=TAGS,
        description="The caller's own proposals.",
    )
    def get(self, request: Request) -> Response:
        query = _query(request, PageQuery)
        actor = identity_of(request).actor
        filters = ProposalFilters(
            statuses=query.get("statuses", ()),
            categories=query.get("categories", ()),
            requested_by=[actor.id],
        )
        # Scoped by kind too: a Django user's id and a Horde user id may coincide.
        return Response(_page(filters, query["offset"], query["limit"], requester_kind=actor.kind))


class ChangeView(CurationView):
    required_role = READER

    @extend_schema(
        parameters=[CHANGE_ID_PARAMETER],
        responses=_with_auth({200: PendingChangeRecordSerializer, 404: NOT_FOUND, 422: VALIDATION_ERROR}),
        tags=TAGS,
        description="One proposal, nulls included.",
    )
    def get(self, request: Request, change_id: str) -> Response:
        return Response(proposal_as_dict(_found(_change_id(change_id))))


class ChangeDiffView(CurationView):
    required_role = READER

    @extend_schema(
        parameters=[CHANGE_ID_PARAMETER],
        responses=_with_auth({200: PendingChangeDiffSerializer, 404: NOT_FOUND, 422: VALIDATION_ERROR}),
        tags=TAGS,
        description="The field-level diff of a proposal against the record as it is now.",
    )
    def get(self, request: Request, change_id: str) -> Response:
        return Response(proposal_diff(_found(_change_id(change_id))))


class DiffsView(CurationView):
    required_role = READER

    @extend_schema(
        parameters=[DiffsQuery],
        responses=_with_auth({200: DIFF_PAGE, 422: VALIDATION_ERROR}),
        tags=TAGS,
        description="The diffs of several proposals (1-100 ids); unknown ids are listed in `errors`.",
    )
    def get(self, request: Request) -> Response:
        ids = list(dict.fromkeys(_query(request, DiffsQuery)["change_ids"]))
        found = {p.pk: p for p in ChangeProposal.objects.select_related("batch").filter(pk__in=ids)}
        diffs = [proposal_diff(found[i]) for i in ids if i in found]
        errors = [
            {"change_id": i, "error": CHANGE_NOT_FOUND, "error_type": "NotFound"}
            for i in ids
            if i not in found
        ]
        return Response({"diffs": diffs, "total": len(ids), "errors": errors})


class BatchesView(CurationView):
    required_role = APPROVER

    @extend_schema(
        request=BatchRequest,
        responses=_with_auth({200: BATCH_RESULT, 400: REVIEW_ERROR, 413: ERROR, 422: VALIDATION_ERROR}),
        tags=TAGS,
        description="Approve and/or reject pending proposals in one decision (all or nothing).",
    )
    def post(self, request: Request) -> Response:
        body = _body(request, BatchRequest)
        review = batch_review(
            title=body["batch_title"],
            approved_ids=body["approved_ids"],
            rejected_ids=body["rejected_ids"],
            reason=body.get("reject_reason") or "",
            actor=identity_of(request).actor,
        )
        return Response(
            {
                "batch_id": review.batch.pk,
                "batch_title": review.batch.title,
                "approved": [proposal_as_dict(p) for p in review.approved],
                "rejected": [proposal_as_dict(p) for p in review.rejected],
            }
        )


class ApplyChangeView(CurationView):
    required_role = APPROVER

    @extend_schema(
        parameters=[CHANGE_ID_PARAMETER],
        request=ApplyOneRequest,
        responses=_with_auth(
            {
                200: APPLY_ONE_RESULT,
                400: STATE_ERROR,
                404: NOT_FOUND,
                409: CONFLICT,
                413: ERROR,
                422: VALIDATION_ERROR,
                503: ERROR,
            }
        ),
        tags=TAGS,
        description='Apply one approved proposal now. The body (`{"job_id"}`) is optional.',
    )
    def post(self, request: Request, change_id: str) -> Response:
        number = _change_id(change_id)
        body = _body(request, ApplyOneRequest)
        proposal = proposal_apply(
            change_id=number, actor=identity_of(request).actor, job_id=body.get("job_id")
        )
        return Response({"record": record_wire(proposal), "batch_split_occurred": False})


class ApplyView(CurationView):
    required_role = APPROVER

    @extend_schema(
        request=ApplyRequest,
        responses=_with_auth(
            {
                200: APPLY_RESULT,
                400: APPLY_FAILED,
                404: APPLY_FAILED,
                409: APPLY_FAILED,
                413: ERROR,
                422: VALIDATION_ERROR,
            }
        ),
        tags=TAGS,
        description=(
            "Apply approved proposals in order, stopping at the first failure. Every id must exist and be "
            "approved in one batch (unless `allow_mixed_batch`); those checks answer `{detail}`. A failure "
            "during the loop answers its status with the ApplyPendingChangesResponse body."
        ),
    )
    def post(self, request: Request) -> Response:
        body = _body(request, ApplyRequest)
        ids = list(dict.fromkeys(body["change_ids"]))
        apply_preconditions(ids, allow_mixed_batch=body["allow_mixed_batch"])
        outcome = proposals_apply(change_ids=ids, actor=identity_of(request).actor, job_id=body.get("job_id"))
        return _apply_response(outcome)


class ApplyBatchView(CurationView):
    required_role = APPROVER

    @extend_schema(
        parameters=[OpenApiParameter("batch_id", OpenApiTypes.INT, OpenApiParameter.PATH), JobQuery],
        request=None,
        responses=_with_auth({200: APPLY_RESULT, 400: APPLY_FAILED, 404: APPLY_FAILED, 409: APPLY_FAILED}),
        tags=TAGS,
        description="Apply every approved proposal of a batch, in id order, stopping at the first failure.",
    )
    def post(self, request: Request, batch_id: int) -> Response:
        job_id = _query(request, JobQuery).get("job_id")
        outcome = batch_apply(batch_id=batch_id, actor=identity_of(request).actor, job_id=job_id)
        return _apply_response(outcome)


class PurgeView(CurationView):
    required_role = APPROVER

    @extend_schema(
        request=PurgeRequest,
        responses=_with_auth({200: PURGE_RESULT, 413: ERROR, 422: VALIDATION_ERROR}),
        tags=TAGS,
        description=(
            "Remove never-applied proposals matching the filters (at least one, or `purge_all`). "
            "`dry_run` lists them without removing anything. Every removal is audited."
        ),
    )
    def post(self, request: Request) -> Response:
        body = _body(request, PurgeRequest)
        result = proposals_purge(
            statuses=_trimmed_unique(body["statuses"]),
            categories=_trimmed_unique(body["categories"]),
            model_name=(body.get("model_name") or "").strip() or None,
            requested_by=_trimmed_unique(body["requested_by"]),
            purge_all=body["purge_all"],
            dry_run=body["dry_run"],
            actor=identity_of(request).actor,
        )
        return Response(
            {
                "removed_count": len(result.removed_change_ids),
                "removed_change_ids": result.removed_change_ids,
                "dry_run": result.dry_run,
            }
        )


class WithdrawView(CurationView):
    required_role = REQUESTOR

    @extend_schema(
        parameters=[CHANGE_ID_PARAMETER],
        request=None,
        responses=_with_auth({200: PendingChangeRecordSerializer, 400: STATE_ERROR, 404: NOT_FOUND}),
        tags=TAGS,
        description="Take back one of your own pending proposals.",
    )
    def post(self, request: Request, change_id: str) -> Response:
        proposal = proposal_withdraw(change_id=_change_id(change_id), actor=identity_of(request).actor)
        return Response(record_wire(proposal))


class RebaseView(CurationView):
    required_role = APPROVER

    @extend_schema(
        parameters=[CHANGE_ID_PARAMETER],
        request=None,
        responses=_with_auth(
            {200: PendingChangeRecordSerializer, 400: STATE_ERROR, 404: NOT_FOUND, 409: CONFLICT}
        ),
        tags=TAGS,
        description=(
            "Re-propose a stale pending or approved change against the record as it is now. The old "
            "proposal becomes `superseded`; the answer is the new (pending) proposal."
        ),
    )
    def post(self, request: Request, change_id: str) -> Response:
        proposal = proposal_rebase(change_id=_change_id(change_id), actor=identity_of(request).actor)
        return Response(record_wire(proposal))


class PendingModelsView(CurationView):
    """``GET /v2/{category}/pending``: what the category would gain once the queue is applied."""

    required_role = READER

    @extend_schema(
        operation_id="read_v2_reference_pending",
        parameters=[
            OpenApiParameter(
                "model_category_name", OpenApiTypes.STR, OpenApiParameter.PATH, enum=ALL_CATEGORIES
            )
        ],
        responses=_with_auth({200: OpenApiTypes.OBJECT, 422: VALIDATION_ERROR}),
        tags=["v2"],
        description=(
            "The newest not-yet-applied (pending or approved) create/update payload per model name, "
            "as `{name: record}` (`{}` when none)."
        ),
    )
    def get(self, request: Request, model_category_name: str) -> Response:
        return Response(pending_models(category_param(model_category_name, ALL_CATEGORIES, echo_input=False)))


class MyRolesView(CurationView):
    required_role = READER

    @extend_schema(
        operation_id="read_v2_me_roles",
        responses=_with_auth({200: ROLES}),
        tags=["v2 user"],
        description="Who the key (or session/token) belongs to and which curation roles it holds.",
    )
    def get(self, request: Request) -> Response:
        identity = identity_of(request)
        return Response(
            {
                "user_id": identity.actor.id,
                "username": identity.actor.display_name,
                "roles": identity.roles,
                "is_approver": identity.is_approver,
                "is_requestor": identity.is_requestor,
            }
        )


# --- mounting --------------------------------------------------------------------


def _mounted(view: type[CurationView], operation_id: str) -> Any:
    """The view for one mount, with an operation id unique across both mounts."""
    method = "get" if hasattr(view, "get") else "post"
    subclass: type[CurationView] = type(f"{operation_id}_view", (view,), {})
    return extend_schema_view(**{method: extend_schema(operation_id=operation_id)})(subclass).as_view()


def queue_urlpatterns(prefix: str) -> list[URLPattern]:
    """One module, two mounts (``v1``, ``v2``): same store, same rules."""
    routes: list[tuple[str, type[CurationView], str]] = [
        ("changes", ChangesView, "list_changes"),
        ("my_changes", MyChangesView, "list_my_changes"),
        ("changes/<str:change_id>", ChangeView, "get_change"),
        ("changes/<str:change_id>/diff", ChangeDiffView, "get_change_diff"),
        ("changes/<str:change_id>/apply", ApplyChangeView, "apply_change"),
        ("changes/<str:change_id>/withdraw", WithdrawView, "withdraw_change"),
        ("changes/<str:change_id>/rebase", RebaseView, "rebase_change"),
        ("diffs", DiffsView, "get_change_diffs"),
        ("batches", BatchesView, "create_batch"),
        ("apply", ApplyView, "apply_changes"),
        ("apply_batch/<int:batch_id>", ApplyBatchView, "apply_batch"),
        ("purge", PurgeView, "purge_changes"),
    ]
    return [
        path(route, _mounted(view, f"{prefix}_pending_queue_{name}"), name=f"{prefix}-pending-queue-{name}")
        for route, view, name in routes
    ]
