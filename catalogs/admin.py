"""The catalogs in the admin: read-only (changes go through the audited change-set services)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.safestring import SafeString

from catalogs.models import CatalogState, GuidanceAssignment, GuidanceProfile, ImageBaseline
from common.admin import ReadOnlyAdmin, pretty_json


class _DocumentAdmin(ReadOnlyAdmin):
    exclude = ("document",)

    @admin.display(description="document")
    def document_pretty(self, obj: GuidanceProfile | GuidanceAssignment | ImageBaseline) -> SafeString:
        return pretty_json(obj.document)


@admin.register(CatalogState)
class CatalogStateAdmin(ReadOnlyAdmin):
    list_display = ("catalog", "schema_version", "revision", "updated_at")


@admin.register(GuidanceProfile)
class GuidanceProfileAdmin(_DocumentAdmin):
    list_display = ("profile_id", "kind", "deprecated", "position")
    list_filter = ("kind", "deprecated")
    search_fields = ("profile_id",)
    readonly_fields = ("profile_id", "kind", "deprecated", "position", "document_pretty")


@admin.register(GuidanceAssignment)
class GuidanceAssignmentAdmin(_DocumentAdmin):
    list_display = ("model_name", "primary_profile", "position")
    search_fields = ("model_name",)
    readonly_fields = ("model_name", "primary_profile", "position", "document_pretty")


@admin.register(ImageBaseline)
class ImageBaselineAdmin(_DocumentAdmin):
    list_display = ("name", "position")
    search_fields = ("name",)
    readonly_fields = ("name", "position", "document_pretty")
