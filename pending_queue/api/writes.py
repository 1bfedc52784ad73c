"""Queued writes: v1 (legacy-shaped) and v2 bodies become change proposals (202).

Nothing changes until an approver applies the proposal. The handlers live on the
same view classes as the public reads of their paths (see ``ReadWriteView``), so
each path has one view class; ``references.api.v1``/``v2`` add the GET handlers.

Order of checks: authentication and role (401/403/503, before anything that could
reveal whether a model exists), then the body (413/422), then the service's rules
(name 422, path/body mismatch 400, backend prefix 400, 409 create-on-existing,
404 update/delete-on-missing).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from common.categories import category_param
from common.openapi import v2_record_schema
from horde_model_reference.meta_consts import CATEGORY_DESCRIPTORS, MODEL_REFERENCE_CATEGORY
from pending_queue.api.common import (
    ALL_CATEGORIES,
    AUTH_ERRORS,
    ERROR,
    VALIDATION_ERROR,
    CurationView,
    PendingChangeRecordSerializer,
    ReadWriteView,
    record_wire,
    request_body,
    text_param,
)
from pending_queue.auth import REQUESTOR, identity_of
from pending_queue.models import Operation
from pending_queue.services import ProposalDraft, proposal_create, proposal_draft_v1, proposal_draft_v2

#: The categories with a legacy (v1) file: the v1 write routes exist for these only.
LEGACY_CATEGORIES = [c.value for c in MODEL_REFERENCE_CATEGORY if CATEGORY_DESCRIPTORS[c].has_legacy_format]

ACCEPTED = OpenApiResponse(PendingChangeRecordSerializer, description="Queued: the pending-change record.")
TOO_LARGE = OpenApiResponse(ERROR.response, description="The body is over 1 MiB.")


def _responses(*codes: int) -> dict[int, Any]:
    known: dict[int, Any] = {
        202: ACCEPTED,
        400: OpenApiResponse(
            ERROR.response,
            description="Name mismatch, backend-prefixed text name, or a category managed elsewhere.",
        ),
        404: OpenApiResponse(ERROR.response, description="The model does not exist."),
        409: OpenApiResponse(ERROR.response, description="The model already exists."),
        413: TOO_LARGE,
        422: VALIDATION_ERROR,
    }
    return {**{code: known[code] for code in (202, *codes)}, **AUTH_ERRORS}


LEGACY_CATEGORY_PARAMETER = OpenApiParameter(
    "model_category_name", OpenApiTypes.STR, OpenApiParameter.PATH, enum=LEGACY_CATEGORIES
)
CATEGORY_PARAMETER = OpenApiParameter(
    "model_category_name", OpenApiTypes.STR, OpenApiParameter.PATH, enum=ALL_CATEGORIES
)
MODEL_NAME_PARAMETER = OpenApiParameter("model_name", OpenApiTypes.STR, OpenApiParameter.PATH)
LEGACY_BODY_HELP = (
    "The legacy record of the category, as in the legacy JSON file (`name` is required). "
    "It is converted to the canonical v2 record and validated now; nothing changes until applied."
)
V2_BODY_HELP = "A v2 record of the category (`name` is required; `record_type`, when given, must match)."


# --- v1 --------------------------------------------------------------------------


def _queue(request: Request, draft: ProposalDraft, route: str) -> Response:
    """Store a validated draft as the caller's proposal: 202 with the pending-change record."""
    proposal = proposal_create(
        draft=draft, actor=identity_of(request).actor, request_metadata={"route": route}
    )
    return Response(record_wire(proposal), status=202)


def _v1_write(request: Request, category: str, operation: str) -> Response:
    category = category_param(category, LEGACY_CATEGORIES, echo_input=False)
    body = request_body(request)
    verb = "create" if operation == Operation.CREATE else "update"
    draft = proposal_draft_v1(category=category, operation=operation, body=body, path_name=None)
    return _queue(request, draft, f"{verb}_legacy_{category}_model")


class V1CategoryWrites(ReadWriteView):
    """``POST``/``PUT /v1/{category}``: the name comes from the body."""

    @extend_schema(
        operation_id="create_legacy_model",
        parameters=[LEGACY_CATEGORY_PARAMETER],
        request=OpenApiTypes.OBJECT,
        responses=_responses(400, 409, 413, 422),
        tags=["v1 writes"],
        description="Propose a new model (legacy shape). " + LEGACY_BODY_HELP,
    )
    def post(self, request: Request, model_category_name: str) -> Response:
        return _v1_write(request, model_category_name, Operation.CREATE)

    @extend_schema(
        operation_id="update_legacy_model",
        parameters=[LEGACY_CATEGORY_PARAMETER],
        request=OpenApiTypes.OBJECT,
        responses=_responses(400, 404, 413, 422),
        tags=["v1 writes"],
        description="Propose a change to an existing model (legacy shape). " + LEGACY_BODY_HELP,
    )
    def put(self, request: Request, model_category_name: str) -> Response:
        return _v1_write(request, model_category_name, Operation.UPDATE)


class V1ModelWriteView(CurationView):
    """``DELETE /v1/{category}/model/{name}``."""

    required_role = REQUESTOR

    @extend_schema(
        operation_id="delete_legacy_model",
        parameters=[LEGACY_CATEGORY_PARAMETER, MODEL_NAME_PARAMETER],
        request=None,
        responses=_responses(400, 404, 422),
        tags=["v1 writes"],
        description="Propose deleting a model. The proposal's payload is the record as it is now.",
    )
    def delete(self, request: Request, model_category_name: str, model_name: str) -> Response:
        category = category_param(model_category_name, LEGACY_CATEGORIES, echo_input=False)
        name = text_param(model_name, ["path", "model_name"])
        draft = proposal_draft_v1(category=category, operation=Operation.DELETE, body=None, path_name=name)
        return _queue(request, draft, "delete_legacy_model")


# --- v2 --------------------------------------------------------------------------


def _v2_write(request: Request, category: str, operation: str, route: str, path_name: str | None) -> Response:
    """A v2 create or update; ``category`` was checked against the path's enum by the caller."""
    body = request_body(request)
    draft = proposal_draft_v2(category=category, operation=operation, body=body, path_name=path_name)
    return _queue(request, draft, route)


class V2CategoryWrites(ReadWriteView):
    """``POST /v2/{category}``: the typed create."""

    @extend_schema(
        operation_id="create_v2_category_model",
        parameters=[CATEGORY_PARAMETER],
        request={"application/json": v2_record_schema()},
        responses=_responses(400, 409, 413, 422),
        tags=["v2 writes"],
        description="Propose a new model. " + V2_BODY_HELP,
    )
    def post(self, request: Request, model_category_name: str) -> Response:
        category = category_param(model_category_name, ALL_CATEGORIES, echo_input=False)
        return _v2_write(request, category, Operation.CREATE, f"create_v2_{category}", None)


class V2ModelWrites(ReadWriteView):
    """``PUT``/``DELETE /v2/{category}/model/{name}``."""

    @extend_schema(
        operation_id="update_v2_model",
        parameters=[CATEGORY_PARAMETER, MODEL_NAME_PARAMETER],
        request={"application/json": v2_record_schema()},
        responses=_responses(400, 404, 413, 422),
        tags=["v2 writes"],
        description="Propose a change to an existing model; the body's `name` must match the path. "
        + V2_BODY_HELP,
    )
    def put(self, request: Request, model_category_name: str, model_name: str) -> Response:
        category = category_param(model_category_name, ALL_CATEGORIES, echo_input=False)
        name = text_param(model_name, ["path", "model_name"])
        return _v2_write(request, category, Operation.UPDATE, f"update_v2_{category}", name)

    @extend_schema(
        operation_id="delete_v2_model",
        parameters=[CATEGORY_PARAMETER, MODEL_NAME_PARAMETER],
        request=None,
        responses=_responses(400, 404, 422),
        tags=["v2 writes"],
        description="Propose deleting a model. The proposal's payload is the record as it is now.",
    )
    def delete(self, request: Request, model_category_name: str, model_name: str) -> Response:
        category = category_param(model_category_name, ALL_CATEGORIES, echo_input=False)
        name = text_param(model_name, ["path", "model_name"])
        draft = proposal_draft_v2(category=category, operation=Operation.DELETE, body=None, path_name=name)
        return _queue(request, draft, "delete_v2_model")


class V2AddView(CurationView):
    """``POST /v2/{category}/add``: the generic create."""

    required_role = REQUESTOR

    @extend_schema(
        operation_id="create_v2_model",
        parameters=[CATEGORY_PARAMETER],
        request={"application/json": v2_record_schema()},
        responses=_responses(400, 409, 413, 422),
        tags=["v2 writes"],
        description="Propose a new model (generic route). " + V2_BODY_HELP,
    )
    def post(self, request: Request, model_category_name: str) -> Response:
        category = category_param(model_category_name, ALL_CATEGORIES, echo_input=False)
        return _v2_write(request, category, Operation.CREATE, "create_v2_model", None)
