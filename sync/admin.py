"""Outcomes of imports and sync runs: written by the sync services, read here."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from common.admin import ReadOnlyAdmin

# Branding, the dashboard, and the record and proposal pages with link health and usage.
from sync import curation_admin  # noqa: F401
from sync.models import DownloadLinkCheck, SyncRun
from sync.services import export_enqueue, pull_requests_enqueue
from sync.services.audit_verify import audit_verify_enqueue
from sync.services.links import links_enqueue
from sync.services.statistics import statistics_enqueue
from sync.services.upstream import upstream_enqueue

# The kinds an admin can start now, and the service that enqueues each.
RUNNABLE_KINDS: dict[str, Callable[..., bool]] = {
    SyncRun.Kind.EXPORT: export_enqueue,
    SyncRun.Kind.UPSTREAM: upstream_enqueue,
    SyncRun.Kind.PULL_REQUESTS: pull_requests_enqueue,
    SyncRun.Kind.LINKS: links_enqueue,
    SyncRun.Kind.AUDIT_VERIFY: audit_verify_enqueue,
    SyncRun.Kind.STATISTICS: statistics_enqueue,
}


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "kind", "trigger", "status", "duration", "dry_run", "error_short")
    list_filter = ("kind", "status", "trigger", "dry_run")
    search_fields = ("source", "error")
    date_hierarchy = "started_at"
    actions = ("run_now",)
    fields = (
        "kind",
        "trigger",
        "status",
        "source",
        "dry_run",
        "started_at",
        "finished_at",
        "duration",
        "error",
        "counts_pretty",
        "log_pretty",
    )
    readonly_fields = fields

    def has_run_permission(self, request: HttpRequest) -> bool:
        # Starting a run creates SyncRun rows: the model's add permission stands for it.
        return request.user.has_perm("sync.add_syncrun")

    @admin.action(
        description="Run this kind now (export, upstream import, pull requests, audit verification)",
        permissions=["run"],
    )
    def run_now(self, request: HttpRequest, queryset: QuerySet[SyncRun]) -> None:
        kinds = set(queryset.values_list("kind", flat=True))
        for kind in sorted(kinds):
            enqueue = RUNNABLE_KINDS.get(SyncRun.Kind(kind))
            if enqueue is None:
                self.message_user(request, f"{kind} runs cannot be started from here.", messages.WARNING)
            elif enqueue(trigger=SyncRun.Trigger.ADMIN):
                self.message_user(request, f"{kind}: a run was started; it appears in this list.")
            else:
                self.message_user(
                    request, f"{kind}: the run could not be started (see the newest run).", messages.ERROR
                )

    @admin.display(description="duration", ordering="duration_ms")
    def duration(self, obj: SyncRun) -> str:
        return "" if obj.duration_ms is None else f"{obj.duration_ms / 1000:.2f} s"

    @admin.display(description="error")
    def error_short(self, obj: SyncRun) -> str:
        return obj.error if len(obj.error) <= 80 else f"{obj.error[:79]}…"

    @admin.display(description="counts")
    def counts_pretty(self, obj: SyncRun) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(obj.counts, indent=2, ensure_ascii=False))

    @admin.display(description="log")
    def log_pretty(self, obj: SyncRun) -> SafeString:
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', obj.log)


@admin.register(DownloadLinkCheck)
class DownloadLinkCheckAdmin(ReadOnlyAdmin):
    list_display = (
        "model_name",
        "category",
        "status",
        "previous_status",
        "http_status",
        "final_host",
        "checked_at",
    )
    list_filter = ("status", "previous_status", "category", "final_host")
    search_fields = ("model_name", "url")
