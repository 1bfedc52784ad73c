"""The admin for approvers: branding, the dashboard, and records and proposals with data.

Why here: the record list and the proposal page show what the ``sync`` app knows (link
health, usage), and ``references`` and ``pending_queue`` sit below ``sync`` in the
layers, so they must not import it. Their admin classes stay where they are; this
module, imported by ``sync.admin``, re-registers subclasses that add the columns,
filters and panels, and reads everything through ``sync.selectors`` and the usage seam
``sync.usage.model_usage``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib import admin
from django.db.models import OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from pending_queue.admin import ChangeProposalAdmin
from pending_queue.admin_auth import HordeKeyLoginForm
from pending_queue.models import ChangeProposal, Status
from pending_queue.records_admin import ModelRecordAdmin
from references.models import ModelRecord
from sync.models import LinkStatus
from sync.selectors import (
    LINK_SEVERITY,
    last_run_per_kind,
    link_checks_of,
    link_status_counts,
    links_not_ok,
    worst_link_status,
)
from sync.usage import Usage, model_usage

SITE_NAME = "Horde Model Reference"
NO_DATA = "—"
OPEN_STATUSES = (Status.PENDING, Status.APPROVED)
DASHBOARD_TOP = 10

admin.site.site_header = f"{SITE_NAME} administration"
admin.site.site_title = f"{SITE_NAME} admin"
admin.site.index_title = "Curation dashboard"
admin.site.index_template = "admin/curation_index.html"
admin.site.login_template = "admin/horde_login.html"
admin.site.login_form = HordeKeyLoginForm


def _payload_value(payload: Any, key: str) -> Any:
    return payload.get(key) if isinstance(payload, dict) else None


def _size_text(size: Any) -> str:
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return NO_DATA
    return f"{size / 1024**3:.2f} GiB" if size >= 1024**3 else f"{size / 1024**2:.1f} MiB"


def _usage_by_record(
    records: list[ModelRecord], *, history_days: int = 0
) -> dict[tuple[str, str], Usage | None]:
    by_category: dict[str, list[str]] = {}
    for record in records:
        by_category.setdefault(record.category, []).append(record.name)
    found: dict[tuple[str, str], Usage | None] = {}
    for category, names in by_category.items():
        for name, usage in model_usage(category, names, history_days=history_days).items():
            found[(category, name)] = usage
    return found


class LinkStatusFilter(admin.SimpleListFilter):
    title = "link status"
    parameter_name = "link_status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        labels = dict(LinkStatus.choices)
        return [*((status, str(labels[status])) for status in LINK_SEVERITY), ("unchecked", "not checked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "unchecked":
            return queryset.filter(link_status__isnull=True)
        if value in LINK_SEVERITY:
            return queryset.filter(link_status=value)
        return queryset


class PayloadValueFilter(admin.SimpleListFilter):
    """A filter on a top-level payload value (payloads are JSON stored as text)."""

    key = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        values = Counter(
            str(_payload_value(payload, self.key))
            for payload in ModelRecord.objects.values_list("payload", flat=True)
            if _payload_value(payload, self.key) is not None
        )
        return [(value, value) for value in sorted(values)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None:
            return queryset
        # The payload column is text (key order survives), so filter in Python by primary key.
        matching = [
            pk
            for pk, payload in queryset.values_list("pk", "payload")
            if str(_payload_value(payload, self.key)) == value
        ]
        return queryset.filter(pk__in=matching)


class BaselineFilter(PayloadValueFilter):
    title = "baseline"
    parameter_name = "baseline"
    key = "baseline"


class NsfwFilter(PayloadValueFilter):
    title = "NSFW"
    parameter_name = "nsfw"
    key = "nsfw"


class NoWorkersFilter(admin.SimpleListFilter):
    """Models the latest statistics show with no worker (through the usage seam)."""

    title = "workers"
    parameter_name = "workers"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("none", "no workers")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() != "none":
            return queryset
        records = list(queryset.only("pk", "category", "name"))
        usage = _usage_by_record(records)
        idle = [
            r.pk for r in records if (u := usage.get((r.category, r.name))) is not None and u.workers == 0
        ]
        return queryset.filter(pk__in=idle)


class CurationModelRecordAdmin(ModelRecordAdmin):
    change_form_template = "admin/sync/modelrecord_change_form.html"
    # The base class's attributes are narrower tuples; Django takes any sequence.
    list_display = (  # type: ignore[assignment]
        "name",
        "category",
        "baseline",
        "nsfw",
        "style",
        "size",
        "usage_day",
        "usage_month",
        "workers",
        "link_status_badge",
        "version",
    )
    list_filter = ("category", BaselineFilter, NsfwFilter, LinkStatusFilter, NoWorkersFilter)  # type: ignore[assignment]
    search_fields = ("name", "payload")  # type: ignore[assignment]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ModelRecord]:
        records: QuerySet[ModelRecord] = super().get_queryset(request)
        annotated: QuerySet[ModelRecord] = records.annotate(
            link_status=worst_link_status(OuterRef("category"), OuterRef("name"))
        )
        return annotated

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        # The page's rows are known now (the template renders later): fetch their usage
        # in one seam call per category and hang it on the rows the cells read.
        context = getattr(response, "context_data", None) or {}
        if "cl" in context:
            rows = list(context["cl"].result_list)
            usage = _usage_by_record(rows)
            for row in rows:
                row.usage_seen = usage.get((row.category, row.name))
        return response

    @staticmethod
    def _usage_of(obj: ModelRecord) -> Usage | None:
        if not hasattr(obj, "usage_seen"):
            return model_usage(obj.category, [obj.name]).get(obj.name)
        usage: Usage | None = obj.usage_seen
        return usage

    @admin.display(description="baseline")
    def baseline(self, obj: ModelRecord) -> str:
        return str(_payload_value(obj.payload, "baseline") or NO_DATA)

    @admin.display(description="NSFW")
    def nsfw(self, obj: ModelRecord) -> str:
        value = _payload_value(obj.payload, "nsfw")
        return NO_DATA if value is None else ("yes" if value else "no")

    @admin.display(description="style")
    def style(self, obj: ModelRecord) -> str:
        return str(_payload_value(obj.payload, "style") or NO_DATA)

    @admin.display(description="size")
    def size(self, obj: ModelRecord) -> str:
        size = _payload_value(obj.payload, "size_on_disk_bytes")
        if size is None:
            downloads = (_payload_value(obj.payload, "config") or {}).get("download") or []
            sizes = [d.get("size_bytes") for d in downloads if isinstance(d, dict)]
            size = sum(sizes) if sizes and all(isinstance(s, int) for s in sizes) else None
        return _size_text(size)

    @admin.display(description="usage (day)")
    def usage_day(self, obj: ModelRecord) -> str:
        usage = self._usage_of(obj)
        return NO_DATA if usage is None else f"{usage.day:,}"

    @admin.display(description="usage (month)")
    def usage_month(self, obj: ModelRecord) -> str:
        usage = self._usage_of(obj)
        return NO_DATA if usage is None else f"{usage.month:,}"

    @admin.display(description="workers")
    def workers(self, obj: ModelRecord) -> str:
        usage = self._usage_of(obj)
        return NO_DATA if usage is None else str(usage.workers)

    @admin.display(description="links", ordering="link_status")
    def link_status_badge(self, obj: ModelRecord) -> SafeString:
        status = getattr(obj, "link_status", None)
        if status is None:
            return format_html('<span class="link-status link-unchecked">{}</span>', NO_DATA)
        return format_html('<span class="link-status link-{}">{}</span>', status, LinkStatus(status).label)

    def change_context(self, request: HttpRequest, object_id: str) -> dict[str, Any]:
        record = self.get_object(request, object_id)
        context: dict[str, Any] = {}
        if record is not None:
            usage = model_usage(record.category, [record.name], history_days=30).get(record.name)
            context.update(
                usage=usage,
                no_data=NO_DATA,
                link_checks=link_checks_of(category=record.category, name=record.name),
                downloads=(_payload_value(record.payload, "config") or {}).get("download") or [],
                open_proposals=ChangeProposal.objects.filter(
                    category=record.category, model_name=record.name, status__in=OPEN_STATUSES
                ).order_by("id"),
            )
        # Ours first, then the base class's, whose keys win (as when ours went in as extra context).
        return {**context, **super().change_context(request, object_id)}


class CurationChangeProposalAdmin(ChangeProposalAdmin):
    change_form_template = "admin/sync/changeproposal_change_form.html"

    def change_context(self, request: HttpRequest, object_id: str) -> dict[str, Any]:
        proposal = ChangeProposal.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        context: dict[str, Any] = {}
        if proposal is not None:
            context.update(
                affected_usage=model_usage(proposal.category, [proposal.model_name]).get(proposal.model_name),
                affected_links=link_checks_of(category=proposal.category, name=proposal.model_name),
                no_data=NO_DATA,
            )
        return {**context, **super().change_context(request, object_id)}


def _reregister(model: type[Any], admin_class: type[admin.ModelAdmin[Any]]) -> None:
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, admin_class)


_reregister(ModelRecord, CurationModelRecordAdmin)
_reregister(ChangeProposal, CurationChangeProposalAdmin)


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    """What the admin index shows approvers, all from SQL and the usage seam."""
    pending = Counter(
        ChangeProposal.objects.filter(status=Status.PENDING).values_list("category", flat=True).iterator()
    )
    conflicts = ChangeProposal.objects.filter(upstream_conflict=True, status__in=OPEN_STATUSES).order_by("id")
    proposals_url = reverse("admin:pending_queue_changeproposal_changelist")
    records = list(ModelRecord.objects.only("pk", "category", "name").order_by("category", "position"))
    usage = _usage_by_record(records)
    with_data = [
        (record, u) for record in records if (u := usage.get((record.category, record.name))) is not None
    ]
    most_used = sorted(with_data, key=lambda pair: (-pair[1].month, pair[0].name))[:DASHBOARD_TOP]
    unused = [pair for pair in with_data if pair[1].month == 0 or pair[1].workers == 0][:DASHBOARD_TOP]
    return {
        "pending_by_category": sorted(pending.items()),
        "pending_total": sum(pending.values()),
        "pending_url": proposals_url + "?" + urlencode({"status__exact": Status.PENDING}),
        "pending_category_url": proposals_url
        + "?"
        + urlencode({"status__exact": Status.PENDING})
        + "&category__exact=",
        "conflicts": list(conflicts[:DASHBOARD_TOP]),
        "conflict_count": conflicts.count(),
        "conflicts_url": proposals_url + "?" + urlencode({"upstream_conflict__exact": 1}),
        "last_runs": last_run_per_kind(),
        "link_counts": link_status_counts(),
        "links_not_ok": links_not_ok(limit=DASHBOARD_TOP),
        "most_used": most_used,
        "unused": unused,
        "usage_available": bool(with_data),
    }
