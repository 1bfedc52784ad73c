"""Outcomes of imports and sync runs: written by the sync services, read here."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.safestring import SafeString

from common.admin import ReadOnlyAdmin
from sync.models import SyncRun


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "kind", "status", "source", "dry_run", "finished_at")
    list_filter = ("kind", "status", "dry_run")
    search_fields = ("source",)
    date_hierarchy = "started_at"
    fields = (
        "kind",
        "status",
        "source",
        "dry_run",
        "started_at",
        "finished_at",
        "counts_pretty",
        "log_pretty",
    )
    readonly_fields = fields

    @admin.display(description="counts")
    def counts_pretty(self, obj: SyncRun) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(obj.counts, indent=2, ensure_ascii=False))

    @admin.display(description="log")
    def log_pretty(self, obj: SyncRun) -> SafeString:
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', obj.log)
