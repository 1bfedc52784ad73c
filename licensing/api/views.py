"""The 13 licensing routes of 8.6.2 under ``/v2/licensing/``.

Reads are public and read SQL on every request (no process-local copy to invalidate).
Writes need the licensing-editor role (``licensing.auth``) and are applied directly and
audited, as the established service does. Order of checks on a write: authentication
and role (401/403/503), then the body (413/422), then the service's rules (400 path/body
mismatch, 404 missing, 409 exists or still referenced, 422 unknown license).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.urls import URLPattern, path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.request import Request
from rest_framework.response import Response

from common.errors import DomainError
from common.openapi import ERROR_RESPONSE, VALIDATION_RESPONSE
from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY
from horde_model_reference.model_reference_records import PermissionStatus
from licensing import schemas, selectors, services
from licensing.auth import IsLicensingEditor, editor_actor, refuse_keys_while_no_editor
from pending_queue.api.common import ReadWriteView, request_body, text_param
from pending_queue.auth import HordeApiKeyAuthentication
from references.api.params import MAX_OFFSET, QueryErrors, bool_param, int_param

if TYPE_CHECKING:
    pass

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
DEFAULT_PAGE_LIMIT = 100
MAX_PAGE_LIMIT = 1000
TAGS = ["v2", "licensing"]
CATEGORY_VALUES = [c.value for c in MODEL_REFERENCE_CATEGORY]
ASSET_KIND_VALUES = [kind.value for kind in schemas.LicensedAssetKind]
PERMISSION_VALUES = [status.value for status in PermissionStatus]
EDITOR_ROLE = "licensing_editor"


def _documented(model: type[Any], description: str, *, mode: str = "serialization") -> OpenApiResponse:
    return OpenApiResponse(response=schemas.openapi_schema(model, mode=mode), description=description)


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ERROR_RESPONSE.response, description=description)


WRITE_ERRORS: dict[int, OpenApiResponse] = {
    400: _error("Path and body identities differ."),
    401: _error("No or an invalid API key."),
    403: _error("The caller is not a licensing editor, or licensing writes are disabled by configuration."),
    404: _error("No such license definition or asset."),
    409: _error("The id already exists, or the definition is still referenced."),
    422: VALIDATION_RESPONSE,
    429: _error("Too many requests."),
    503: _error("The AI Horde could not check the key."),
}
DEFINITION = _documented(schemas.LicenseDefinition, "A license definition.")
ASSET = _documented(schemas.LicensedAsset, "A non-model licensed asset.")
# Keyed by media type: drf-spectacular takes a dict there as media type -> schema.
DEFINITION_BODY = {"application/json": schemas.openapi_schema(schemas.LicenseDefinition, mode="validation")}
ASSET_BODY = {"application/json": schemas.openapi_schema(schemas.LicensedAsset, mode="validation")}
PAGING = [
    OpenApiParameter("offset", OpenApiTypes.INT, OpenApiParameter.QUERY, default=0),
    OpenApiParameter("limit", OpenApiTypes.INT, OpenApiParameter.QUERY, default=DEFAULT_PAGE_LIMIT),
]
LICENSE_ID_PARAMETER = OpenApiParameter("license_id", OpenApiTypes.STR, OpenApiParameter.PATH)
ASSET_PATH_PARAMETERS = [
    OpenApiParameter("asset_kind", OpenApiTypes.STR, OpenApiParameter.PATH, enum=ASSET_KIND_VALUES),
    OpenApiParameter("asset_identifier", OpenApiTypes.STR, OpenApiParameter.PATH),
]


class LicensingView(ReadWriteView):
    """Public reads; writes authenticate and need the licensing-editor role."""

    authentication_classes = (HordeApiKeyAuthentication, SessionAuthentication, TokenAuthentication)
    permission_classes = (IsLicensingEditor,)
    required_role = EDITOR_ROLE

    def perform_authentication(self, request: Request) -> None:
        if not self._is_read():
            refuse_keys_while_no_editor(request)
        super().perform_authentication(request)


def _page(request: Request) -> tuple[int, int, QueryErrors]:
    errors = QueryErrors()
    offset = int_param(request.query_params, "offset", 0, 0, MAX_OFFSET, errors)
    limit = int_param(request.query_params, "limit", DEFAULT_PAGE_LIMIT, 1, MAX_PAGE_LIMIT, errors)
    return offset, limit, errors


def _choice(request: Request, name: str, allowed: list[str], errors: QueryErrors) -> str | None:
    value = _text(request, name, errors)
    if value is not None and value not in allowed:
        errors.add(name, "Input should be " + ", ".join(f"'{a}'" for a in allowed), "enum", value)
        return None
    return value


def _text(request: Request, name: str, errors: QueryErrors) -> str | None:
    value = request.query_params.get(name)
    if value is not None and "\x00" in value:
        errors.add(name, "NUL characters are not allowed", "string_nul", value)
        return None
    return value


def _path_choice(value: str, name: str, allowed: list[str]) -> str:
    if value in allowed:
        return value
    raise DomainError(
        [
            {
                "loc": ["path", name],
                "msg": "Input should be " + ", ".join(f"'{a}'" for a in allowed),
                "type": "enum",
            }
        ],
        status=422,
    )


def _path_text(value: str, name: str) -> str:
    return text_param(value, ["path", name])


class LicenseListView(LicensingView):
    @extend_schema(
        operation_id="list_license_definitions",
        summary="List License Definitions",
        description="License definitions ordered by id, paged.",
        parameters=[
            OpenApiParameter(
                "include_deprecated",
                OpenApiTypes.BOOL,
                OpenApiParameter.QUERY,
                default=True,
                description="Include deprecated definitions",
            ),
            *PAGING,
        ],
        responses={
            200: _documented(schemas.LicenseDefinitionPage, "A page of definitions."),
            422: VALIDATION_RESPONSE,
        },
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        offset, limit, errors = _page(request)
        include_deprecated = bool_param(request.query_params, "include_deprecated", errors)
        errors.raise_if_any()
        definitions = selectors.license_definition_list(
            include_deprecated=True if include_deprecated is None else include_deprecated
        )
        return Response(
            {
                "items": definitions[offset : offset + limit],
                "total": len(definitions),
                "offset": offset,
                "limit": limit,
                "metadata": selectors.licensing_dataset_metadata(),
            }
        )

    @extend_schema(
        operation_id="create_license_definition",
        summary="Create License Definition",
        description="Create a license definition (licensing editors; applied directly and audited).",
        request=DEFINITION_BODY,
        responses={201: DEFINITION, **WRITE_ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        created = services.license_create(body=request_body(request), actor=editor_actor(request))
        return Response(created, status=201)


class LicenseDetailView(LicensingView):
    @extend_schema(
        operation_id="get_license_definition",
        summary="Get License Definition",
        parameters=[LICENSE_ID_PARAMETER],
        responses={200: DEFINITION, 404: _error("No such license definition."), 422: VALIDATION_RESPONSE},
        tags=TAGS,
    )
    def get(self, request: Request, license_id: str) -> Response:
        definition = selectors.license_definition_get(license_id=_path_text(license_id, "license_id"))
        if definition is None:
            raise DomainError(f"License definition not found: {license_id}", status=404)
        return Response(definition)

    @extend_schema(
        operation_id="replace_license_definition",
        summary="Replace License Definition",
        description="Replace a license definition (licensing editors; applied directly and audited).",
        parameters=[LICENSE_ID_PARAMETER],
        request=DEFINITION_BODY,
        responses={200: DEFINITION, **WRITE_ERRORS},
        tags=TAGS,
    )
    def put(self, request: Request, license_id: str) -> Response:
        replaced = services.license_replace(
            license_id=_path_text(license_id, "license_id"),
            body=request_body(request),
            actor=editor_actor(request),
        )
        return Response(replaced)

    @extend_schema(
        operation_id="delete_license_definition",
        summary="Delete License Definition",
        description="Delete a definition that no model, model file or asset references (else 409).",
        parameters=[LICENSE_ID_PARAMETER],
        responses={204: OpenApiResponse(description="Deleted."), **WRITE_ERRORS},
        tags=TAGS,
    )
    def delete(self, request: Request, license_id: str) -> Response:
        services.license_delete(license_id=_path_text(license_id, "license_id"), actor=editor_actor(request))
        return Response(status=204)


class AssetListView(LicensingView):
    @extend_schema(
        operation_id="list_licensed_assets",
        summary="List Licensed Assets",
        description="Models (licensing from their records) and non-model assets, filtered and paged.",
        parameters=[
            OpenApiParameter(
                "asset_kind",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                description="model, custom_node, software_component, or other",
            ),
            OpenApiParameter("category", OpenApiTypes.STR, OpenApiParameter.QUERY, enum=CATEGORY_VALUES),
            OpenApiParameter("license_id", OpenApiTypes.STR, OpenApiParameter.QUERY),
            OpenApiParameter(
                "commercial_use", OpenApiTypes.STR, OpenApiParameter.QUERY, enum=PERMISSION_VALUES
            ),
            OpenApiParameter(
                "redistribution", OpenApiTypes.STR, OpenApiParameter.QUERY, enum=PERMISSION_VALUES
            ),
            OpenApiParameter("name_contains", OpenApiTypes.STR, OpenApiParameter.QUERY),
            *PAGING,
        ],
        responses={
            200: _documented(schemas.LicensedAssetPage, "A page of assets."),
            422: VALIDATION_RESPONSE,
        },
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        offset, limit, errors = _page(request)
        filters = selectors.AssetFilters(
            asset_kind=_text(request, "asset_kind", errors),
            category=_choice(request, "category", CATEGORY_VALUES, errors),
            license_id=_text(request, "license_id", errors),
            commercial_use=_choice(request, "commercial_use", PERMISSION_VALUES, errors),
            redistribution=_choice(request, "redistribution", PERMISSION_VALUES, errors),
            name_contains=_text(request, "name_contains", errors),
        )
        errors.raise_if_any()
        assets = selectors.licensed_asset_search(filters)
        return Response(
            {
                "items": assets[offset : offset + limit],
                "total": len(assets),
                "offset": offset,
                "limit": limit,
                "metadata": selectors.licensing_dataset_metadata(),
            }
        )

    @extend_schema(
        operation_id="create_licensed_asset",
        summary="Create Licensed Asset",
        description="Create a non-model asset (licensing editors; applied directly and audited).",
        request=ASSET_BODY,
        responses={201: ASSET, **WRITE_ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        created = services.asset_create(body=request_body(request), actor=editor_actor(request))
        return Response(created, status=201)


class AssetDetailView(LicensingView):
    @extend_schema(
        operation_id="get_licensed_asset",
        summary="Get Licensed Asset",
        parameters=ASSET_PATH_PARAMETERS,
        responses={200: ASSET, 404: _error("No such asset."), 422: VALIDATION_RESPONSE},
        tags=TAGS,
    )
    def get(self, request: Request, asset_kind: str, asset_identifier: str) -> Response:
        kind = _path_choice(asset_kind, "asset_kind", ASSET_KIND_VALUES)
        identifier = _path_text(asset_identifier, "asset_identifier")
        asset = selectors.licensed_asset_get(asset_kind=kind, asset_identifier=identifier)
        if asset is None:
            raise DomainError(f"Licensed asset not found: {kind}:{identifier}", status=404)
        return Response(asset)

    @extend_schema(
        operation_id="replace_licensed_asset",
        summary="Replace Licensed Asset",
        description="Replace a non-model asset (licensing editors; applied directly and audited).",
        parameters=ASSET_PATH_PARAMETERS,
        request=ASSET_BODY,
        responses={200: ASSET, **WRITE_ERRORS},
        tags=TAGS,
    )
    def put(self, request: Request, asset_kind: str, asset_identifier: str) -> Response:
        kind = _path_choice(asset_kind, "asset_kind", ASSET_KIND_VALUES)
        replaced = services.asset_replace(
            asset_kind=kind,
            asset_identifier=_path_text(asset_identifier, "asset_identifier"),
            body=request_body(request),
            actor=editor_actor(request),
        )
        return Response(replaced)

    @extend_schema(
        operation_id="delete_licensed_asset",
        summary="Delete Licensed Asset",
        parameters=ASSET_PATH_PARAMETERS,
        responses={204: OpenApiResponse(description="Deleted."), **WRITE_ERRORS},
        tags=TAGS,
    )
    def delete(self, request: Request, asset_kind: str, asset_identifier: str) -> Response:
        kind = _path_choice(asset_kind, "asset_kind", ASSET_KIND_VALUES)
        services.asset_delete(
            asset_kind=kind,
            asset_identifier=_path_text(asset_identifier, "asset_identifier"),
            actor=editor_actor(request),
        )
        return Response(status=204)


class ModelLicensingView(LicensingView):
    @extend_schema(
        operation_id="get_model_licensing",
        summary="Get Model Licensing",
        description="One model's licensing, from its record (NOASSERTION when the record has none).",
        parameters=[
            OpenApiParameter("category", OpenApiTypes.STR, OpenApiParameter.PATH, enum=CATEGORY_VALUES),
            OpenApiParameter("model_name", OpenApiTypes.STR, OpenApiParameter.PATH),
        ],
        responses={
            200: _documented(schemas.LicensedAssetView, "The model's licensing view."),
            404: _error("No such model."),
            422: VALIDATION_RESPONSE,
        },
        tags=TAGS,
    )
    def get(self, request: Request, category: str, model_name: str) -> Response:
        category = _path_choice(category, "category", CATEGORY_VALUES)
        name = _path_text(model_name, "model_name")
        view = selectors.model_licensing_view(category=category, name=name)
        if view is None:
            raise DomainError(f"Model not found: {category}/{name}", status=404)
        return Response(view)


class SummaryView(LicensingView):
    @extend_schema(
        operation_id="get_licensing_summary",
        summary="Get Licensing Summary",
        description="Counts across model and non-model assets.",
        responses={200: _documented(schemas.LicensingSummary, "The counts.")},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.licensing_summary())


class ExportView(LicensingView):
    @extend_schema(
        operation_id="export_licensing",
        summary="Export Licensing",
        description="The whole catalog and every asset view, in a deterministic order.",
        responses={200: _documented(schemas.LicensingExport, "The export.")},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.licensing_export())


licensing_urlpatterns: list[URLPattern] = [
    path("licenses", LicenseListView.as_view(), name="licensing-licenses"),
    path("licenses/<path:license_id>", LicenseDetailView.as_view(), name="licensing-license"),
    path("assets", AssetListView.as_view(), name="licensing-assets"),
    path(
        "assets/<str:asset_kind>/<path:asset_identifier>", AssetDetailView.as_view(), name="licensing-asset"
    ),
    path("models/<str:category>/<path:model_name>", ModelLicensingView.as_view(), name="licensing-model"),
    path("summary", SummaryView.as_view(), name="licensing-summary"),
    path("export", ExportView.as_view(), name="licensing-export"),
]
