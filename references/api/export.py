"""Serving the published export release: ``export/manifest.json`` and ``export/<path>``.

Any static host or CDN can mirror these: every file has a strong ETag derived from its
sha256 in the manifest (equal bytes, equal tag, across releases), so a mirror or the
client's export source revalidates with ``If-None-Match`` and gets a 304.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import HttpResponse
from django.urls import path
from django.utils.http import http_date
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request

from common.api import PublicReadView
from common.errors import DomainError
from common.openapi import ERROR_RESPONSE
from references.api.common import NOT_MODIFIED_RESPONSE
from references.exports import (
    MANIFEST_NAME,
    ExportNotPublishedError,
    ReleaseFileRef,
    export_release_file_find,
    export_release_file_read,
)
from references.http import accepts_gzip, if_none_match

NOT_PUBLISHED_RESPONSE = OpenApiResponse(
    response=ERROR_RESPONSE.response,
    description="No export release has been published yet (or the current one cannot be read).",
)

MANIFEST_SCHEMA = {
    "type": "object",
    "description": (
        "The release's manifest: per category its revision, record count and, per file, "
        "`{path, sha256, bytes, records}`; the release name, generation time and audit head hash."
    ),
    "properties": {
        "format": {"type": "string"},
        "release": {"type": "string"},
        "generated_at": {"type": "integer"},
        "audit_head_hash": {"type": "string"},
        "categories": {"type": "object", "additionalProperties": {"type": "object"}},
    },
    "required": ["categories"],
}


def _served(request: Request, relative: str) -> HttpResponse:
    try:
        ref = export_release_file_find(export_dir=Path(settings.EXPORT_DIR), path=relative)
    except ExportNotPublishedError as error:
        raise DomainError(f"The export is not available: {error}.", status=503) from error
    if ref is None:
        raise DomainError(f"'{relative}' is not a file of the export.", status=404)
    gzip = accepts_gzip(request)
    etag = ref.gzip_etag if gzip else ref.etag
    if if_none_match(request, etag):
        return _with_headers(HttpResponse(status=304), ref, etag)
    release_file = export_release_file_read(ref)
    if release_file is None:
        raise DomainError(f"The export is not available: '{relative}' cannot be read.", status=503)
    body = release_file.gzip_body if gzip else release_file.body
    response = HttpResponse(body, content_type=release_file.content_type)
    if gzip:
        response["Content-Encoding"] = "gzip"
    response["Content-Length"] = str(len(body))
    return _with_headers(response, ref, etag)


def _with_headers(response: HttpResponse, ref: ReleaseFileRef, etag: str) -> HttpResponse:
    response["ETag"] = etag
    response["Cache-Control"] = settings.DOCUMENT_CACHE_CONTROL
    response["Vary"] = "Accept-Encoding"
    # Which release answered: a mirror can tell, and so can a test of consistency.
    response["X-Export-Release"] = ref.index.name
    if ref.index.generated_at is not None:
        response["Last-Modified"] = http_date(ref.index.generated_at)
    return response


class ExportManifestView(PublicReadView):
    @extend_schema(
        operation_id="export_manifest",
        responses={
            200: OpenApiResponse(response=MANIFEST_SCHEMA, description="The current release's manifest."),
            304: NOT_MODIFIED_RESPONSE,
            503: NOT_PUBLISHED_RESPONSE,
        },
        tags=["export"],
        description=(
            "The manifest of the current export release. Its `path`s are relative to "
            "`/api/model_references/export/`; each file's ETag derives from its sha256."
        ),
    )
    def get(self, request: Request) -> HttpResponse:
        return _served(request, MANIFEST_NAME)


class ExportFileView(PublicReadView):
    @extend_schema(
        operation_id="export_file",
        parameters=[
            OpenApiParameter(
                "export_path",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="A path the manifest lists: `v2/image_generation.json`, `legacy/models.csv`...",
            )
        ],
        responses={
            (200, "application/json"): OpenApiResponse(
                response=OpenApiTypes.OBJECT, description="A JSON file of the release."
            ),
            (200, "text/csv"): OpenApiResponse(response=OpenApiTypes.STR, description="`legacy/models.csv`."),
            304: NOT_MODIFIED_RESPONSE,
            404: ERROR_RESPONSE,
            503: NOT_PUBLISHED_RESPONSE,
        },
        tags=["export"],
        description=(
            "A file of the current export release, exactly as written (v2 and legacy JSON, "
            "`models.csv` with CRLF). Paths the manifest does not list are 404."
        ),
    )
    def get(self, request: Request, export_path: str) -> HttpResponse:
        return _served(request, export_path)


export_urlpatterns = [
    path("manifest.json", ExportManifestView.as_view(), name="export-manifest"),
    path("<path:export_path>", ExportFileView.as_view(), name="export-file"),
]
