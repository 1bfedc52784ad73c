"""The review desk: approvers approve, reject, apply and re-base proposals here.

Proposals are never edited in place. Every button and bulk action calls the same
``pending_queue.services`` functions the API calls, as the logged-in Django user
with source ``admin``, so the state machine, the conflict checks and the audit
trail are exactly those of the API.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from audit.models import EventSource
from audit.services import Actor
from common.admin import ReadOnlyAdmin, diff_cell, pretty_json_display
from common.diff import FieldDiff, is_critical_field_diff
from common.errors import DomainError

# Imported to register the records' admin, which proposes through the queue (Django's
# autodiscovery imports ``admin`` modules only).
from pending_queue import records_admin  # noqa: F401
from pending_queue.auth import APPROVE_PERMISSION, REQUEST_PERMISSION, django_user_actor
from pending_queue.models import Batch, ChangeProposal, Status
from pending_queue.selectors import proposal_diff, proposal_get
from pending_queue.services import (
    ApplyOutcome,
    batch_review,
    proposal_rebase,
    proposals_apply,
)

REASON_MAX_LENGTH = 500
#: Statuses in which re-basing (and so the stale warning) makes sense.
REBASEABLE = (Status.PENDING, Status.APPROVED)


def admin_actor(request: HttpRequest) -> Actor:
    """The logged-in Django user as the actor of a queue operation."""
    return django_user_actor(request.user)


def is_approver(request: HttpRequest) -> bool:
    # Active superusers hold every permission, so they are approvers implicitly.
    return bool(request.user.has_perm(APPROVE_PERMISSION))


def _batch_title(request: HttpRequest, verb: str, ids: Sequence[int]) -> str:
    listed = ", ".join(f"#{i}" for i in ids)
    title = f"Admin {verb} by {admin_actor(request).display_name}: {listed}"
    # The batch title is limited to 120 characters; the ids are also on the proposals.
    return title if len(title) <= 120 else title[:117] + "..."


def apply_message(outcome: ApplyOutcome) -> tuple[int, str]:
    """One line for the apply result, e.g. ``Applied 3 (#1, #2, #4); change 17 failed: ...``."""
    applied = outcome.applied
    parts = [f"Applied {len(applied)}" + (f" ({', '.join(f'#{p.pk}' for p in applied)})" if applied else "")]
    if outcome.failure is None:
        return messages.SUCCESS, parts[0] + "."
    failure = outcome.failure
    parts.append(f"change {failure.change_id} failed: {failure.error}")
    return messages.ERROR, "; ".join(parts)


class RequesterFilter(admin.SimpleListFilter):
    title = "requester"
    parameter_name = "requester"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        rows = (
            ChangeProposal.objects.order_by("requested_by_name")
            .values_list("requested_by_kind", "requested_by_id", "requested_by_name")
            .distinct()
        )
        return [(f"{kind}:{actor_id}", f"{name} ({kind})") for kind, actor_id, name in rows]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value or ":" not in value:
            return queryset
        kind, actor_id = value.split(":", 1)
        return queryset.filter(requested_by_kind=kind, requested_by_id=actor_id)


class CuratorReadOnlyAdmin(ReadOnlyAdmin):
    """Visible to requestors and approvers, and never edited here.

    Proposals are written from a record page (references admin) or the API; a
    different change is a new proposal, not an edit in place; removing proposals is
    the audited purge, not a row delete. Review decisions go through the actions.
    """

    view_permission = ""

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        user = request.user
        return bool(
            user.has_perm(self.view_permission)
            or user.has_perm(REQUEST_PERMISSION)
            or user.has_perm(APPROVE_PERMISSION)
        )


@admin.register(ChangeProposal)
class ChangeProposalAdmin(CuratorReadOnlyAdmin):
    view_permission = "pending_queue.view_changeproposal"
    change_form_template = "admin/pending_queue/changeproposal/change_form.html"
    change_list_template = "admin/pending_queue/changeproposal/change_list.html"
    list_display = (
        "id",
        "model_name",
        "category",
        "operation",
        "status_badge",
        "requested_by",
        "batch",
        "requested_at",
    )
    list_display_links = ("id", "model_name")
    list_filter = (
        "status",
        "category",
        "operation",
        "upstream_conflict",
        RequesterFilter,
        ("batch", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("batch",)
    search_fields = ("model_name",)
    ordering = ("-id",)
    date_hierarchy = "requested_at"
    actions = ("approve_selected", "reject_selected", "apply_selected", "rebase_selected")
    proposal_fields = (
        "change_id",
        "category",
        "model_name",
        "operation",
        "status",
        "submitted_format",
        "upstream_conflict",
        "base_version",
        "applied_version",
        "notes",
        "lineage",
    )
    review_fields = (
        "requester",
        "requested_at",
        "batch",
        "approver",
        "approved_at",
        "rejecter",
        "rejected_at",
        "reject_reason",
        "applier",
        "applied_at",
        "applied_job_id",
    )
    record_fields = ("payload_pretty", "legacy_residue_pretty", "metadata_pretty")
    fieldsets = (
        ("Proposal", {"fields": proposal_fields}),
        ("Review", {"fields": review_fields}),
        ("Proposed record", {"fields": record_fields}),
    )
    # Everything shown is read-only: a different change is a new proposal.
    readonly_fields = (*proposal_fields, *review_fields, *record_fields)

    # --- permissions: everyone who may see proposals sees them read-only ---------

    def has_approve_permission(self, request: HttpRequest) -> bool:
        """Used by ``allowed_permissions = ("approve",)`` on the review actions."""
        return is_approver(request)

    # --- list columns and detail fields ------------------------------------------

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: ChangeProposal) -> SafeString:
        return format_html('<span class="proposal-status status-{}">{}</span>', obj.status, obj.status)

    @admin.display(description="requester", ordering="requested_by_name")
    def requested_by(self, obj: ChangeProposal) -> str:
        return obj.requested_by_name

    @admin.display(description="change id")
    def change_id(self, obj: ChangeProposal) -> int:
        return obj.pk

    @staticmethod
    def _who(kind: str, actor_id: str, name: str) -> str:
        return f"{name} ({kind} {actor_id})" if actor_id else "-"

    @admin.display(description="requested by")
    def requester(self, obj: ChangeProposal) -> str:
        return self._who(obj.requested_by_kind, obj.requested_by_id, obj.requested_by_name)

    @admin.display(description="approved by")
    def approver(self, obj: ChangeProposal) -> str:
        return self._who(obj.approved_by_kind, obj.approved_by_id, obj.approved_by_name)

    @admin.display(description="rejected by")
    def rejecter(self, obj: ChangeProposal) -> str:
        return self._who(obj.rejected_by_kind, obj.rejected_by_id, obj.rejected_by_name)

    @admin.display(description="applied by")
    def applier(self, obj: ChangeProposal) -> str:
        return self._who(obj.applied_by_kind, obj.applied_by_id, obj.applied_by_name)

    @admin.display(description="superseded / re-based")
    def lineage(self, obj: ChangeProposal) -> SafeString | str:
        links: list[tuple[str, str, int]] = []
        if obj.superseded_by_id:
            links.append(("superseded by", self._change_url(obj.superseded_by_id), obj.superseded_by_id))
        rebased_from = obj.request_metadata.get("rebased_from") if obj.request_metadata else None
        if isinstance(rebased_from, int):
            links.append(("re-based from", self._change_url(rebased_from), rebased_from))
        if not links:
            return "-"
        return format_html_join(" ", '{} <a href="{}">#{}</a>', links)

    payload_pretty = pretty_json_display("payload", description="proposed record (v2)")
    legacy_residue_pretty = pretty_json_display("legacy_residue", description="legacy-only data")
    metadata_pretty = pretty_json_display("request_metadata", description="request metadata")

    @staticmethod
    def _change_url(change_id: int) -> str:
        return reverse("admin:pending_queue_changeproposal_change", args=[change_id])

    # --- the detail page: diff, staleness and the review buttons -------------------

    def review_context(self, request: HttpRequest, proposal: ChangeProposal) -> dict[str, Any]:
        diff = proposal_diff(proposal)
        rows = []
        for item in diff["field_diffs"]:
            field_diff = FieldDiff(**item)
            rows.append(
                {
                    "path": item["field_path"],
                    "old": self._cell(item["old_value"], item["change_type"] == "added"),
                    "new": self._cell(item["new_value"], item["change_type"] == "removed"),
                    "change_type": item["change_type"],
                    "critical": is_critical_field_diff(proposal.category, field_diff),
                }
            )
        approver = is_approver(request)
        stale = bool(diff["is_stale"])
        status = proposal.status
        return {
            "proposal": proposal,
            "diff": diff,
            "diff_rows": rows,
            "is_stale": stale,
            "stale_from": diff["base_version"] if diff["base_version"] is not None else "none",
            "stale_to": diff["current_version"] if diff["current_version"] is not None else "none",
            "is_approver": approver,
            "can_approve": approver and status == Status.PENDING,
            "can_reject": approver and status in (Status.PENDING, Status.APPROVED),
            "can_apply": approver and status == Status.APPROVED,
            "can_rebase": approver and stale and status in REBASEABLE,
            "approve_url": reverse("admin:pending_queue_changeproposal_approve", args=[proposal.pk]),
            "reject_url": reverse("admin:pending_queue_changeproposal_reject", args=[proposal.pk]),
            "apply_url": reverse("admin:pending_queue_changeproposal_apply", args=[proposal.pk]),
            "rebase_url": reverse("admin:pending_queue_changeproposal_rebase", args=[proposal.pk]),
        }

    @staticmethod
    def _cell(value: object, absent: bool) -> str:
        return diff_cell(value, absent=absent)

    def change_context(self, request: HttpRequest, object_id: str) -> dict[str, Any]:
        proposal = self._proposal_or_404(object_id)
        return {**super().change_context(request, object_id), **self.review_context(request, proposal)}

    # --- the review endpoints behind the buttons ------------------------------------

    def get_urls(self) -> list[URLPattern]:
        def view(func: Callable[[HttpRequest, str], HttpResponse], name: str) -> URLPattern:
            return path(
                f"<path:object_id>/{name}/",
                self.admin_site.admin_view(func),
                name=f"pending_queue_changeproposal_{name}",
            )

        return [
            view(self.approve_view, "approve"),
            view(self.reject_view, "reject"),
            view(self.apply_view, "apply"),
            view(self.rebase_view, "rebase"),
            *super().get_urls(),
        ]

    def _require_approver(self, request: HttpRequest) -> None:
        if not is_approver(request):
            raise PermissionDenied("You need the permission to approve changes.")

    @staticmethod
    def _proposal_or_404(object_id: str) -> ChangeProposal:
        proposal = proposal_get(int(object_id)) if object_id.isdigit() else None
        if proposal is None:
            raise Http404(f"Change {object_id} not found.")
        return proposal

    def _back_to(self, proposal_id: int) -> HttpResponseRedirect:
        return redirect(self._change_url(proposal_id))

    def approve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return require_POST(self._approve)(request, object_id)

    def _approve(self, request: HttpRequest, object_id: str) -> HttpResponse:
        self._require_approver(request)
        proposal = self._proposal_or_404(object_id)
        self._review(request, approved=[proposal.pk], rejected=[], reason="")
        return self._back_to(proposal.pk)

    def reject_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        self._require_approver(request)
        proposal = self._proposal_or_404(object_id)
        if request.method == "POST":
            reason = request.POST.get("reason", "").strip()
            error = self._reason_problem(reason)
            if error is None:
                self._review(request, approved=[], rejected=[proposal.pk], reason=reason)
                return self._back_to(proposal.pk)
            return self._reject_confirmation(request, [proposal], reason=reason, error=error, single=True)
        return self._reject_confirmation(request, [proposal], reason="", error=None, single=True)

    def apply_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return require_POST(self._apply_one)(request, object_id)

    def _apply_one(self, request: HttpRequest, object_id: str) -> HttpResponse:
        self._require_approver(request)
        proposal = self._proposal_or_404(object_id)
        self._apply(request, [proposal.pk])
        return self._back_to(proposal.pk)

    def rebase_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return require_POST(self._rebase_one)(request, object_id)

    def _rebase_one(self, request: HttpRequest, object_id: str) -> HttpResponse:
        self._require_approver(request)
        proposal = self._proposal_or_404(object_id)
        new_ids = self._rebase(request, [proposal.pk])
        return self._back_to(new_ids[0] if new_ids else proposal.pk)

    # --- shared by the buttons and the bulk actions -----------------------------------

    @staticmethod
    def _reason_problem(reason: str) -> str | None:
        if not reason:
            return "A reason is required to reject: the requester sees it."
        if len(reason) > REASON_MAX_LENGTH:
            return f"The reason must be at most {REASON_MAX_LENGTH} characters."
        return None

    def _review(self, request: HttpRequest, *, approved: list[int], rejected: list[int], reason: str) -> None:
        verb, past = ("approval", "approved") if approved else ("rejection", "rejected")
        try:
            review = batch_review(
                title=_batch_title(request, verb, approved or rejected),
                approved_ids=approved,
                rejected_ids=rejected,
                reason=reason,
                actor=admin_actor(request),
                source=EventSource.ADMIN,
            )
        except DomainError as error:
            self.message_user(request, f"Nothing was {past}: {error}", messages.ERROR)
            return
        done = review.approved or review.rejected
        ids = ", ".join(f"#{p.pk}" for p in done)
        word = "Approved" if review.approved else "Rejected"
        self.message_user(
            request, f"{word} {len(done)} ({ids}) in batch {review.batch.pk}.", messages.SUCCESS
        )

    def _apply(self, request: HttpRequest, ids: list[int]) -> None:
        try:
            outcome = proposals_apply(change_ids=ids, actor=admin_actor(request), source=EventSource.ADMIN)
        except DomainError as error:
            # Refused before anything was applied (e.g. a proposal is not approved).
            self.message_user(request, f"Nothing was applied: {error}", messages.ERROR)
            return
        level, text = apply_message(outcome)
        self.message_user(request, text, level)

    def _rebase(self, request: HttpRequest, ids: list[int]) -> list[int]:
        created: list[int] = []
        for change_id in ids:
            try:
                new = proposal_rebase(
                    change_id=change_id, actor=admin_actor(request), source=EventSource.ADMIN
                )
            except DomainError as error:
                self.message_user(request, f"Change {change_id} was not re-based: {error}", messages.ERROR)
                continue
            created.append(new.pk)
            self.message_user(
                request,
                f"Change {change_id} re-based as #{new.pk} (against version {new.base_version}); "
                "it is pending review.",
                messages.SUCCESS,
            )
        return created

    def _reject_confirmation(
        self,
        request: HttpRequest,
        proposals: Sequence[ChangeProposal],
        *,
        reason: str,
        error: str | None,
        single: bool,
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Reject proposals" if len(proposals) > 1 else f"Reject change #{proposals[0].pk}",
            "proposals": proposals,
            "reason": reason,
            "error": error,
            "single": single,
            "reason_max_length": REASON_MAX_LENGTH,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "back_url": self._change_url(proposals[0].pk)
            if single
            else reverse("admin:pending_queue_changeproposal_changelist"),
        }
        return TemplateResponse(
            request,
            "admin/pending_queue/changeproposal/reject_confirmation.html",
            context,
            status=400 if error and request.method == "POST" else 200,
        )

    # --- bulk actions (approvers only) --------------------------------------------------

    @staticmethod
    def _ids(queryset: QuerySet[ChangeProposal]) -> list[int]:
        return sorted(queryset.values_list("pk", flat=True))

    @admin.action(description="Approve selected proposals", permissions=["approve"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[ChangeProposal]) -> None:
        self._review(request, approved=self._ids(queryset), rejected=[], reason="")

    @admin.action(description="Reject selected proposals…", permissions=["approve"])
    def reject_selected(
        self, request: HttpRequest, queryset: QuerySet[ChangeProposal]
    ) -> TemplateResponse | None:
        proposals = list(queryset.order_by("pk"))
        # Like delete_selected: the first POST shows the confirmation page, the second
        # (with post=yes) carries the reason.
        if request.POST.get("post") == "yes":
            reason = request.POST.get("reason", "").strip()
            error = self._reason_problem(reason)
            if error is None:
                self._review(request, approved=[], rejected=[p.pk for p in proposals], reason=reason)
                return None
            return self._reject_confirmation(request, proposals, reason=reason, error=error, single=False)
        return self._reject_confirmation(request, proposals, reason="", error=None, single=False)

    @admin.action(description="Apply selected approved proposals", permissions=["approve"])
    def apply_selected(self, request: HttpRequest, queryset: QuerySet[ChangeProposal]) -> None:
        self._apply(request, self._ids(queryset))

    @admin.action(description="Re-base selected stale proposals", permissions=["approve"])
    def rebase_selected(self, request: HttpRequest, queryset: QuerySet[ChangeProposal]) -> None:
        self._rebase(request, self._ids(queryset))


@admin.register(Batch)
class BatchAdmin(CuratorReadOnlyAdmin):
    view_permission = "pending_queue.view_batch"
    list_display = ("id", "title", "reviewed_by_name", "created_at", "proposal_count", "proposals_link")
    search_fields = ("title", "reviewed_by_name")
    ordering = ("-id",)
    readonly_fields = (
        "title",
        "reviewed_by_kind",
        "reviewed_by_id",
        "reviewed_by_name",
        "created_at",
        "proposals_link",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Batch]:
        queryset: QuerySet[Batch] = super().get_queryset(request)
        return queryset.annotate(proposal_total=Count("proposals"))

    @admin.display(description="proposals", ordering="proposal_total")
    def proposal_count(self, obj: Batch) -> int:
        return int(getattr(obj, "proposal_total", 0))

    @admin.display(description="review")
    def proposals_link(self, obj: Batch) -> SafeString:
        url = reverse("admin:pending_queue_changeproposal_changelist") + f"?batch__id__exact={obj.pk}"
        return format_html('<a href="{}">proposals of this batch</a>', url)
