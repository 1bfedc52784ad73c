"""The audit trail, read-only: nothing here can add, change or remove an event."""

from __future__ import annotations

from django.contrib import admin
from django.utils.safestring import SafeString

from audit.models import AuditEvent
from common.admin import ReadOnlyAdmin, pretty_json


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "sequence",
        "occurred_at",
        "action",
        "category",
        "model_name",
        "actor_display",
        "actor_kind",
        "source",
    )
    list_filter = (
        "action",
        "source",
        "category",
        "actor_kind",
        ("actor_display", admin.AllValuesFieldListFilter),
        ("occurred_at", admin.DateFieldListFilter),
    )
    search_fields = ("model_name", "actor_display", "actor_id")
    ordering = ("-sequence",)
    date_hierarchy = "occurred_at"
    # Every column is editable=False, so the fields have to be named for the detail page.
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "sequence",
                    "occurred_at",
                    "action",
                    "category",
                    "model_name",
                    "source",
                    "request_id",
                )
            },
        ),
        ("Actor", {"fields": ("actor_kind", "actor_id", "actor_display")}),
        ("Change", {"fields": ("before_pretty", "after_pretty", "details_pretty")}),
        ("Hash chain", {"fields": ("prev_hash", "hash")}),
    )
    readonly_fields = (
        "sequence",
        "occurred_at",
        "action",
        "category",
        "model_name",
        "source",
        "request_id",
        "actor_kind",
        "actor_id",
        "actor_display",
        "before_pretty",
        "after_pretty",
        "details_pretty",
        "prev_hash",
        "hash",
    )

    @admin.display(description="before")
    def before_pretty(self, obj: AuditEvent) -> SafeString:
        return pretty_json(obj.before)

    @admin.display(description="after")
    def after_pretty(self, obj: AuditEvent) -> SafeString:
        return pretty_json(obj.after)

    @admin.display(description="details")
    def details_pretty(self, obj: AuditEvent) -> SafeString:
        return pretty_json(obj.details)
