"""The licensing catalog in the admin: read-only, since every change goes through
``licensing.services`` (the API routes and the import), which audits it."""

from __future__ import annotations

from django.contrib import admin
from django.utils.safestring import SafeString

from common.admin import ReadOnlyAdmin, pretty_json
from licensing.models import LicensedAsset, LicenseDefinition, LicensingDataset


@admin.register(LicenseDefinition)
class LicenseDefinitionAdmin(ReadOnlyAdmin):
    list_display = ("license_id", "name", "deprecated", "revision", "updated_by")
    list_filter = ("deprecated",)
    search_fields = ("license_id",)
    ordering = ("license_id",)
    fields = (
        "license_id",
        "deprecated",
        "revision",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
        "body_json",
    )
    readonly_fields = fields

    @admin.display(description="name")
    def name(self, obj: LicenseDefinition) -> str:
        return str(obj.body.get("name", ""))

    @admin.display(description="definition")
    def body_json(self, obj: LicenseDefinition) -> SafeString:
        return pretty_json(obj.body)


@admin.register(LicensedAsset)
class LicensedAssetAdmin(ReadOnlyAdmin):
    list_display = ("asset_kind", "asset_identifier", "license_expression", "revision", "updated_by")
    list_filter = ("asset_kind",)
    search_fields = ("asset_identifier",)
    ordering = ("asset_kind", "asset_identifier")
    fields = (
        "asset_kind",
        "asset_identifier",
        "revision",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
        "body_json",
    )
    readonly_fields = fields

    @admin.display(description="license")
    def license_expression(self, obj: LicensedAsset) -> str:
        return str(obj.body.get("licensing", {}).get("license_expression", ""))

    @admin.display(description="asset")
    def body_json(self, obj: LicensedAsset) -> SafeString:
        return pretty_json(obj.body)


@admin.register(LicensingDataset)
class LicensingDatasetAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "schema_version", "revision", "updated_at")
    readonly_fields = ("schema_version", "revision", "updated_at")
