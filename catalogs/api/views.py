"""The catalog routes: text guidance (7) and image baselines (4), as the established 8.6.2 has them.

Reads are public and read SQL per request (see ``catalogs.selectors``). Change sets need
the approver role, because they are applied at once and audited (the established service
queues them for an approver instead); the migration preview needs the requestor role,
as there. Order of checks on writes: authentication and role, then the body (413/422),
then the catalog's rules (409 stale, 422 invalid).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from pydantic import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import Actor
from catalogs import selectors, services
from catalogs.api.openapi import COMPONENTS, ref
from catalogs.models import Catalog
from catalogs.schemas import ImageBaselineChangeSet, TextGuidanceChangeSet
from common.errors import DomainError
from common.openapi import ERROR_RESPONSE
from pending_queue.api.common import CurationView, request_body, text_param
from pending_queue.auth import APPROVER, REQUESTOR, identity_of

GUIDANCE_TAGS = ["text_guidance"]
BASELINE_TAGS = ["image_baselines"]
TRUE_VALUES = {"true", "1", "yes", "on"}
FALSE_VALUES = {"false", "0", "no", "off"}
AUTH_ERRORS = {
    401: OpenApiResponse(ERROR_RESPONSE.response, description="No or an invalid API key."),
    403: OpenApiResponse(ERROR_RESPONSE.response, description="The caller lacks the role."),
}
NOT_FOUND = OpenApiResponse(ERROR_RESPONSE.response, description="No such entry.")
APPLIED = ref("CatalogChangeRecord", "Applied at once: the change record (status `applied`).")
STALE = OpenApiResponse(
    ERROR_RESPONSE.response,
    description="An entry changed since the change set was reviewed (`expected_before`).",
)


def _query_problem(name: str, msg: str, kind: str) -> DomainError:
    return DomainError([{"loc": ["query", name], "msg": msg, "type": kind}], status=422)


def _bool_query(request: Request, name: str, default: bool) -> bool:
    value = request.query_params.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in TRUE_VALUES:
        return True
    if lowered in FALSE_VALUES:
        return False
    raise _query_problem(name, "Input should be a valid boolean", "bool_parsing")


def _text_query(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return None if value is None else text_param(value, ["query", name])


def _with_etag(body: Any, *, catalog: str, revision: int, status: int = 200) -> Response:
    response = Response(body, status=status)
    # As the established service: a weak ETag naming the catalog revision.
    response["ETag"] = f'W/"{catalog.replace("_", "-")}-{revision}"'
    return response


def _guidance_answer(body: Any, metadata: dict[str, Any]) -> Response:
    return _with_etag(body, catalog="text_guidance", revision=int(metadata["revision"]))


def _baselines_answer(body: Any, metadata: dict[str, Any]) -> Response:
    return _with_etag(body, catalog="image_baselines", revision=int(metadata["revision"]))


class PublicView(APIView):
    authentication_classes = ()
    permission_classes = ()


# --- text guidance -----------------------------------------------------------------


class GuidanceProfilesView(PublicView):
    @extend_schema(
        operation_id="list_guidance_profiles",
        parameters=[OpenApiParameter("include_deprecated", OpenApiTypes.BOOL, default=False)],
        responses={200: ref("TextUsageProfilePage")},
        tags=GUIDANCE_TAGS,
        description="List published prompt contracts and usage recipes.",
    )
    def get(self, request: Request) -> Response:
        items = selectors.guidance_profiles(
            include_deprecated=_bool_query(request, "include_deprecated", False)
        )
        metadata = selectors.catalog_metadata(catalog=Catalog.TEXT_GUIDANCE)
        return _guidance_answer({"items": items, "total": len(items), "metadata": metadata}, metadata)


class GuidanceProfileView(PublicView):
    @extend_schema(
        operation_id="get_guidance_profile",
        parameters=[OpenApiParameter("profile_id", OpenApiTypes.STR, OpenApiParameter.PATH)],
        responses={
            200: OpenApiResponse(
                {
                    "oneOf": [
                        {"$ref": COMPONENTS + "TextPromptContract"},
                        {"$ref": COMPONENTS + "TextUsageRecipe"},
                    ]
                }
            ),
            404: NOT_FOUND,
        },
        tags=GUIDANCE_TAGS,
        description="Return one current published guidance profile.",
    )
    def get(self, request: Request, profile_id: str) -> Response:
        profile = selectors.guidance_profile_get(profile_id=profile_id)
        if profile is None:
            raise DomainError(f"Guidance profile '{profile_id}' not found.", status=404)
        return _guidance_answer(profile, selectors.catalog_metadata(catalog=Catalog.TEXT_GUIDANCE))


class GuidanceAssignmentsView(PublicView):
    @extend_schema(
        operation_id="list_guidance_assignments",
        parameters=[
            OpenApiParameter("model_name", OpenApiTypes.STR),
            OpenApiParameter("profile_id", OpenApiTypes.STR),
        ],
        responses={200: ref("TextGuidanceAssignmentPage")},
        tags=GUIDANCE_TAGS,
        description="List explicit exact-model guidance assignments.",
    )
    def get(self, request: Request) -> Response:
        items = selectors.guidance_assignments(
            model_name=_text_query(request, "model_name"), profile_id=_text_query(request, "profile_id")
        )
        metadata = selectors.catalog_metadata(catalog=Catalog.TEXT_GUIDANCE)
        return _guidance_answer({"items": items, "total": len(items), "metadata": metadata}, metadata)


class GuidanceModelView(PublicView):
    @extend_schema(
        operation_id="resolve_model_guidance",
        parameters=[OpenApiParameter("name", OpenApiTypes.STR, required=True)],
        responses={200: ref("ResolvedTextGuidance"), 404: NOT_FOUND},
        tags=GUIDANCE_TAGS,
        description="Resolve published guidance and legacy fallback for one exact text model.",
    )
    def get(self, request: Request) -> Response:
        name = _text_query(request, "name")
        if name is None:
            raise _query_problem("name", "Field required", "missing")
        if not name:
            raise _query_problem("name", "String should have at least 1 character", "string_too_short")
        resolved = selectors.guidance_resolve(model_name=name)
        if resolved is None:
            raise DomainError(f"Text model '{name}' not found.", status=404)
        return _guidance_answer(resolved, resolved["catalog_metadata"])


class GuidanceExportView(PublicView):
    @extend_schema(
        operation_id="export_guidance_catalog",
        responses={200: ref("TextGuidanceCatalog")},
        tags=GUIDANCE_TAGS,
        description="Export the complete published guidance catalog (what `import_catalogs` loads).",
    )
    def get(self, request: Request) -> Response:
        catalog = selectors.guidance_catalog()
        return _guidance_answer(catalog, catalog["metadata"])


class GuidanceMigrationPreviewView(CurationView):
    required_role = REQUESTOR

    @extend_schema(
        operation_id="preview_guidance_legacy_migration",
        request=None,
        responses={200: ref("GuidanceMigrationPreview"), **AUTH_ERRORS},
        tags=GUIDANCE_TAGS,
        description=(
            "Build an editable change set from the text records' legacy `instruct_format` labels "
            "without storing it. Needs the requestor role."
        ),
    )
    def post(self, request: Request) -> Response:
        return Response(selectors.guidance_migration_preview())


def _change_record(
    *, outcome: services.ChangeSetOutcome, actor: Actor, kind: str, payload: dict[str, Any], title: str
) -> dict[str, Any]:
    guidance = kind == "text_guidance"
    when = outcome.applied_at
    return {
        "change_id": outcome.event_sequence,
        "resource_kind": kind,
        "resource_id": outcome.resource_id,
        "category": "text_generation" if guidance else "image_generation",
        "model_name": f"{'guidance' if guidance else 'baseline'}:{outcome.resource_id}",
        "operation": "update",
        "payload": payload,
        "requested_by": actor.id,
        "requested_username": actor.display_name,
        "requested_at": when,
        "status": "applied",
        "notes": title,
        "batch_id": None,
        "batch_title": None,
        "approved_by": actor.id,
        "approved_username": actor.display_name,
        "approved_at": when,
        "rejected_by": None,
        "rejected_username": None,
        "rejected_at": None,
        "reject_reason": None,
        "applied_at": when,
        "applied_by": actor.id,
        "applied_username": actor.display_name,
        "applied_job_id": None,
        "updated_at": when,
        "request_metadata": {
            "route": f"submit_{'text_guidance' if guidance else 'image_baseline'}_change_set",
            "title": title,
            ("affected_models" if guidance else "affected_baselines"): outcome.related_names,
        },
        "related_models": outcome.related_names,
    }


def _parsed(model: type[TextGuidanceChangeSet] | type[ImageBaselineChangeSet], body: object) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise DomainError(
            [
                {"loc": ["body", *item["loc"]], "msg": item["msg"], "type": item["type"]}
                for item in error.errors(include_url=False, include_context=False, include_input=False)
            ],
            status=422,
        ) from None


CHANGE_SET_RESPONSES: dict[int, Any] = {
    202: APPLIED,
    409: STALE,
    422: OpenApiResponse(
        {"$ref": COMPONENTS + "ValidationErrorDetail"},
        description="The body does not parse, or the change set breaks a catalog rule.",
    ),
    **AUTH_ERRORS,
}


class GuidanceChangeSetsView(CurationView):
    required_role = APPROVER

    @extend_schema(
        operation_id="submit_guidance_change_set",
        request={"application/json": {"$ref": COMPONENTS + "TextGuidanceChangeSet"}},
        responses=CHANGE_SET_RESPONSES,
        tags=GUIDANCE_TAGS,
        description=(
            "Apply one coherent guidance change set at once, audited (needs the approver role). "
            "Each change carries the value it was reviewed against in `expected_before`; "
            "if any entry differs now, nothing is applied and the answer is 409."
        ),
    )
    def post(self, request: Request) -> Response:
        actor = identity_of(request).actor
        change_set: TextGuidanceChangeSet = _parsed(TextGuidanceChangeSet, request_body(request))
        outcome = services.guidance_change_set_apply(change_set=change_set, actor=actor)
        body = _change_record(
            outcome=outcome,
            actor=actor,
            kind="text_guidance",
            payload=change_set.model_dump(mode="json"),
            title=change_set.title,
        )
        return Response(body, status=202)


# --- image baselines ---------------------------------------------------------------


class BaselinesView(PublicView):
    @extend_schema(
        operation_id="list_image_baselines",
        responses={200: ref("ImageBaselinePage")},
        tags=BASELINE_TAGS,
        description="List every published image-generation baseline.",
    )
    def get(self, request: Request) -> Response:
        items = selectors.baselines_list()
        metadata = selectors.catalog_metadata(catalog=Catalog.IMAGE_BASELINES)
        return _baselines_answer({"items": items, "total": len(items), "metadata": metadata}, metadata)


class BaselinesExportView(PublicView):
    @extend_schema(
        operation_id="export_image_baseline_catalog",
        responses={200: ref("ImageBaselineCatalog")},
        tags=BASELINE_TAGS,
        description="Export the complete published baseline catalog (what `import_catalogs` loads).",
    )
    def get(self, request: Request) -> Response:
        catalog = selectors.baselines_catalog()
        return _baselines_answer(catalog, catalog["metadata"])


class BaselineView(PublicView):
    @extend_schema(
        operation_id="get_image_baseline",
        parameters=[OpenApiParameter("baseline_name", OpenApiTypes.STR, OpenApiParameter.PATH)],
        responses={200: ref("ImageBaselineRecord"), 404: NOT_FOUND},
        tags=BASELINE_TAGS,
        description="Return one current published baseline.",
    )
    def get(self, request: Request, baseline_name: str) -> Response:
        record = selectors.baseline_get(name=baseline_name)
        if record is None:
            raise DomainError(f"Baseline '{baseline_name}' not found.", status=404)
        return _baselines_answer(record, selectors.catalog_metadata(catalog=Catalog.IMAGE_BASELINES))


class BaselineChangeSetsView(CurationView):
    required_role = APPROVER

    @extend_schema(
        operation_id="submit_image_baseline_change_set",
        request={"application/json": {"$ref": COMPONENTS + "ImageBaselineChangeSet"}},
        responses=CHANGE_SET_RESPONSES,
        tags=BASELINE_TAGS,
        description=(
            "Apply one coherent baseline change set at once, audited (needs the approver role). "
            "A baseline must be one the record contract knows; one a record still names cannot "
            "be deleted; a stale `expected_before` is a 409 and nothing is applied."
        ),
    )
    def post(self, request: Request) -> Response:
        actor = identity_of(request).actor
        change_set: ImageBaselineChangeSet = _parsed(ImageBaselineChangeSet, request_body(request))
        outcome = services.baseline_change_set_apply(change_set=change_set, actor=actor)
        body = _change_record(
            outcome=outcome,
            actor=actor,
            kind="image_baseline",
            payload=change_set.model_dump(mode="json"),
            title=change_set.title,
        )
        return Response(body, status=202)
