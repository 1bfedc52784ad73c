"""``PUT v1/{category}/model/{name}/metadata``: an approver corrects a record's provenance.

Record metadata (``created_at``, ``updated_at``, ``created_by``, ``updated_by``) is
server-owned; this route is the privileged exception of the established service, for
seeding or correcting provenance (e.g. from the upstream history). It is not a content
change, so it does not go through the queue: the approver's write is applied at once by
``references.services.record_metadata_correct``, versioned and audited like any change.

Order of checks: authentication and the approver role (401/403/503, before anything that
could reveal whether a model exists), the category and name (422), the body (413/422),
then the service's rules (400 text_generation or no field, 422 unknown field or wrong
type, 404 missing record). 200 with ``{model_name, category, metadata}``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from common.categories import category_param
from pending_queue.api.common import (
    ALL_CATEGORIES,
    AUTH_ERRORS,
    ERROR,
    VALIDATION_ERROR,
    CurationView,
    request_body,
    text_param,
)
from pending_queue.api.writes import CATEGORY_PARAMETER, MODEL_NAME_PARAMETER, V1ModelWriteView
from pending_queue.auth import APPROVER, identity_of
from references.services import record_metadata_correct

#: The path's last segment; names may contain "/", so ``x/metadata`` may also be a name.
METADATA_SUFFIX = "/metadata"


# Documentation only (named ModelMetadataCorrectionRequest in the schema, as upstream:
# request components get the suffix). The service validates the body itself, strictly:
# an integer is not a string of digits, and an unknown field is refused, not ignored.
class ModelMetadataCorrection(serializers.Serializer[Any]):
    """The metadata fields to set; a field left out is kept, `null` clears one."""

    created_at = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=2**63 - 1, help_text="unix seconds"
    )
    updated_at = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=2**63 - 1, help_text="unix seconds"
    )
    created_by = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    updated_by = serializers.CharField(required=False, allow_null=True, allow_blank=True)


class RecordMetadataSerializer(serializers.Serializer[Any]):
    """A record's metadata, every field present."""

    schema_version = serializers.CharField()
    created_at = serializers.IntegerField(allow_null=True)
    updated_at = serializers.IntegerField(allow_null=True)
    created_by = serializers.CharField(allow_null=True, allow_blank=True)
    updated_by = serializers.CharField(allow_null=True, allow_blank=True)


class ModelMetadataCorrectionResponse(serializers.Serializer[Any]):
    """The corrected record's name, category and whole metadata."""

    model_name = serializers.CharField()
    category = serializers.ChoiceField(choices=ALL_CATEGORIES)
    metadata = RecordMetadataSerializer()


class V1ModelMetadataView(CurationView):
    """``PUT .../v1/{category}/model/{name}/metadata`` (approvers only)."""

    required_role = APPROVER

    @extend_schema(
        operation_id="set_legacy_model_metadata",
        parameters=[CATEGORY_PARAMETER, MODEL_NAME_PARAMETER],
        request=ModelMetadataCorrection,
        responses={
            200: OpenApiResponse(ModelMetadataCorrectionResponse, description="Metadata updated."),
            400: OpenApiResponse(
                ERROR.response,
                description="No field given, or a text_generation model (no per-record metadata).",
            ),
            404: OpenApiResponse(ERROR.response, description="The model does not exist."),
            413: OpenApiResponse(ERROR.response, description="The body is over 1 MiB."),
            422: VALIDATION_ERROR,
            **AUTH_ERRORS,
        },
        tags=["v1 writes"],
        summary="Correct server-owned metadata for a model entry.",
        description=(
            "Approvers only. Sets the given fields of the record's `metadata` (`created_at`, "
            "`updated_at`, `created_by`, `updated_by`; `null` clears one) and keeps the others. "
            "Applied at once (provenance is not content review), versioned and audited."
        ),
    )
    def put(self, request: Request, model_category_name: str, model_name: str) -> Response:
        category = category_param(model_category_name, ALL_CATEGORIES, echo_input=False)
        name = text_param(model_name, ["path", "model_name"])
        correction = record_metadata_correct(
            category=category,
            name=name,
            fields=request_body(request),
            actor=identity_of(request).actor,
            source="api",
        )
        return Response(
            {"model_name": correction.name, "category": correction.category, "metadata": correction.metadata}
        )


_model_write_view = V1ModelWriteView.as_view()


class V1ModelMetadataRoute(V1ModelMetadataView):
    """Route ``.../model/<name>/metadata``: a PUT is the correction; a DELETE deletes ``<name>/metadata``.

    Names may contain ``/``, so ``x/metadata`` can be a record's name; the v1 model path
    only has DELETE, which keeps reaching that record. Every other method is this route's.
    """

    @property
    def default_response_headers(self) -> dict[str, str]:
        # ``Allow`` also lists the DELETE handed over below. (Not ``allowed_methods``:
        # drf-spectacular documents a handler for every method that lists.)
        headers: dict[str, str] = super().default_response_headers
        headers["Allow"] = "DELETE, " + headers["Allow"]
        return headers

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "DELETE":
            return _model_write_view(
                request, *args, **{**kwargs, "model_name": kwargs["model_name"] + METADATA_SUFFIX}
            )
        return super().dispatch(request, *args, **kwargs)
