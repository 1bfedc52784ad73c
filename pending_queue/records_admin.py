"""The records admin: records are read-only; a change is proposed, reviewed and applied.

The record page links to "Propose a change" and the list to "Propose a new record";
both call ``pending_queue.services.proposal_create_v2`` as the logged-in user, so an
admin proposal is validated, queued and audited exactly like an API write. It lives in
the queue (imported by ``pending_queue.admin``) because it proposes: ``references``
sits below the queue and may not import it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.http import urlencode

from audit.history import record_history
from audit.models import EventSource
from audit.services import Actor
from common.admin import ReadOnlyAdmin, diff_rows, pretty_json_display
from common.errors import DomainError
from horde_model_reference.meta_consts import CATEGORIES_MANAGED_ELSEWHERE, MODEL_REFERENCE_CATEGORY
from pending_queue.auth import APPROVE_PERMISSION, REQUEST_PERMISSION, django_user_actor
from pending_queue.services import proposal_create_v2
from references.models import ModelRecord

PROPOSAL_BODY_MAX_CHARS = 1_000_000
HISTORY_PAGE_SIZE = 50


def can_propose(request: HttpRequest) -> bool:
    # Approvers are requestors too (as in the API's roles).
    user = request.user
    return bool(user.has_perm(REQUEST_PERMISSION) or user.has_perm(APPROVE_PERMISSION))


def writable_category_choices() -> list[tuple[str, str]]:
    return [(c.value, c.value) for c in MODEL_REFERENCE_CATEGORY if c not in CATEGORIES_MANAGED_ELSEWHERE]


class JsonPayloadField(forms.CharField):
    """A textarea holding one JSON object."""

    widget = forms.Textarea(attrs={"rows": 28, "cols": 100, "class": "vLargeTextField json-editor"})

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if not text:
            return None
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(f"Not valid JSON: {error}") from error
        if not isinstance(parsed, dict):
            raise forms.ValidationError("The record must be a JSON object.")
        return parsed


class ProposeChangeForm(forms.Form):
    payload = JsonPayloadField(
        label="Record (v2 JSON)", required=False, max_length=PROPOSAL_BODY_MAX_CHARS, strip=False
    )
    delete = forms.BooleanField(
        label="Propose deletion of this record", required=False, help_text="The JSON above is then ignored."
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("delete") and cleaned.get("payload") is None and "payload" not in self.errors:
            self.add_error("payload", "Enter the record, or propose its deletion.")
        return cleaned


class ProposeNewRecordForm(forms.Form):
    category = forms.ChoiceField(choices=writable_category_choices)
    payload = JsonPayloadField(label="Record (v2 JSON)", max_length=PROPOSAL_BODY_MAX_CHARS, strip=False)


@admin.register(ModelRecord)
class ModelRecordAdmin(ReadOnlyAdmin):
    change_form_template = "admin/references/modelrecord/change_form.html"
    change_list_template = "admin/references/modelrecord/change_list.html"
    list_display = ("name", "category", "version", "updated_at")
    list_filter = ("category",)
    search_fields = ("name",)
    fieldsets = (
        (None, {"fields": ("category", "name", "version", "position", "created_at", "updated_at")}),
        ("Record (v2)", {"fields": ("payload_pretty",)}),
        ("Legacy-only data (kept for the v1 documents)", {"fields": ("legacy_residue_pretty",)}),
    )
    readonly_fields = (
        "category",
        "name",
        "version",
        "position",
        "created_at",
        "updated_at",
        "payload_pretty",
        "legacy_residue_pretty",
    )

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # A requestor proposes from a record page, so it must be able to open one.
        return super().has_view_permission(request, obj) or can_propose(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or can_propose(request)

    payload_pretty = pretty_json_display("payload", description="payload (v2)")
    legacy_residue_pretty = pretty_json_display("legacy_residue", description="legacy residue")

    # --- proposing instead of editing -------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "propose/",
                self.admin_site.admin_view(self.propose_new_view),
                name="references_modelrecord_propose_new",
            ),
            path(
                "<path:object_id>/propose/",
                self.admin_site.admin_view(self.propose_change_view),
                name="references_modelrecord_propose",
            ),
            *super().get_urls(),
        ]

    def change_context(self, request: HttpRequest, object_id: str) -> dict[str, Any]:
        context = super().change_context(request, object_id)
        record = self.get_object(request, object_id)
        if record is not None:
            context["can_propose"] = can_propose(request)
            context["propose_url"] = reverse("admin:references_modelrecord_propose", args=[record.pk])
            context["record_history_url"] = reverse("admin:references_modelrecord_history", args=[record.pk])
            context["proposals_url"] = reverse("admin:pending_queue_changeproposal_changelist") + (
                "?" + urlencode({"category__exact": record.category, "q": record.name})
            )
        return context

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The record's versions from the audit trail, as a timeline with their diffs.

        Replaces Django's own history page (admin log entries), which never sees a
        change: records change through the queue and the importer, not this admin.
        """
        record = self.get_object(request, unquote(object_id))
        if record is None:
            raise Http404(f"Record {object_id} not found.")
        if not self.has_view_or_change_permission(request, record):
            raise PermissionDenied
        raw_before = request.GET.get("before", "")
        before = (
            int(raw_before)
            if raw_before.isascii() and raw_before.isdigit() and len(raw_before) < 19
            else None
        )
        page = record_history(
            category=record.category, name=record.name, before=before, limit=HISTORY_PAGE_SIZE
        )
        for version in page.versions:
            version["rows"] = diff_rows(version["diff"])
            version["when"] = datetime.fromtimestamp(version["time"], UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            version["proposal_url"] = (
                reverse("admin:pending_queue_changeproposal_change", args=[version["proposal_id"]])
                if version["proposal_id"] is not None
                else None
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"History of {record.category}/{record.name}",
            "record": record,
            "versions": page.versions,
            "older_url": f"?{urlencode({'before': page.next_cursor})}" if page.next_cursor else None,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/references/modelrecord/history.html", context)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {
            **(extra_context or {}),
            "can_propose": can_propose(request),
            "propose_new_url": reverse("admin:references_modelrecord_propose_new"),
        }
        return super().changelist_view(request, extra_context=context)

    def _require_requestor(self, request: HttpRequest) -> None:
        if not can_propose(request):
            raise PermissionDenied("You need the permission to propose changes.")

    def _actor(self, request: HttpRequest) -> Actor:
        return django_user_actor(request.user)

    def _proposed(self, request: HttpRequest, proposal_id: int, summary: str) -> HttpResponse:
        self.message_user(
            request, f"Proposed change #{proposal_id}: {summary}. It waits for an approver.", messages.SUCCESS
        )
        return redirect(reverse("admin:pending_queue_changeproposal_change", args=[proposal_id]))

    def propose_change_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        self._require_requestor(request)
        record = self.get_object(request, object_id)
        if record is None:
            raise Http404(f"Record {object_id} not found.")
        if request.method == "POST":
            form = ProposeChangeForm(request.POST)
            if form.is_valid():
                deleting = bool(form.cleaned_data["delete"])
                try:
                    proposal = proposal_create_v2(
                        category=record.category,
                        operation="delete" if deleting else "update",
                        body=None if deleting else form.cleaned_data["payload"],
                        path_name=record.name,
                        actor=self._actor(request),
                        source=EventSource.ADMIN,
                        route="admin:propose",
                    )
                except DomainError as error:
                    form.add_error(None, str(error))
                else:
                    what = "delete" if deleting else "update"
                    return self._proposed(request, proposal.pk, f"{what} {record.category}/{record.name}")
        else:
            form = ProposeChangeForm(
                initial={"payload": json.dumps(record.payload, indent=2, ensure_ascii=False)}
            )
        return self._propose_page(request, form, title=f"Propose a change to {record.name}", record=record)

    def propose_new_view(self, request: HttpRequest) -> HttpResponse:
        self._require_requestor(request)
        if request.method == "POST":
            form = ProposeNewRecordForm(request.POST)
            if form.is_valid():
                category = form.cleaned_data["category"]
                try:
                    proposal = proposal_create_v2(
                        category=category,
                        operation="create",
                        body=form.cleaned_data["payload"],
                        path_name=None,
                        actor=self._actor(request),
                        source=EventSource.ADMIN,
                        route="admin:propose_new",
                    )
                except DomainError as error:
                    form.add_error(None, str(error))
                else:
                    return self._proposed(request, proposal.pk, f"create {category}/{proposal.model_name}")
        else:
            form = ProposeNewRecordForm(initial={"payload": json.dumps({"name": ""}, indent=2)})
        return self._propose_page(request, form, title="Propose a new record", record=None)

    def _propose_page(
        self, request: HttpRequest, form: forms.Form, *, title: str, record: ModelRecord | None
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "form": form,
            "record": record,
        }
        return TemplateResponse(
            request,
            "admin/references/modelrecord/propose.html",
            context,
            status=400 if form.is_bound and form.errors else 200,
        )
