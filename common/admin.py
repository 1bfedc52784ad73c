"""Pieces the apps' admin modules share."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString


def pretty_json(value: object) -> SafeString:
    """A JSON value, indented, for a read-only admin field (styled inline: no template needed)."""
    return format_html(
        '<pre class="json-pretty" style="white-space: pre-wrap; word-break: break-word; margin: 0">{}</pre>',
        json.dumps(value, indent=2, ensure_ascii=False),
    )


def pretty_json_display(field: str, *, description: str) -> Callable[[Any, Any], SafeString]:
    """A read-only admin column (a method of the admin class) showing ``obj.<field>`` as ``pretty_json``."""

    @admin.display(description=description)
    def display(model_admin: Any, obj: Any) -> SafeString:
        return pretty_json(getattr(obj, field))

    return display


def diff_cell(value: object, *, absent: bool) -> str:
    """A field diff's cell: strings as themselves, anything else as compact JSON; absent is empty."""
    if absent:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=1 if isinstance(value, dict | list) else None, ensure_ascii=False)


def diff_rows(field_diffs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows for a diff table from ``FieldDiff.as_dict()`` items (the proposal review and record history)."""
    return [
        {
            "path": item["field_path"],
            "old": diff_cell(item["old_value"], absent=item["change_type"] == "added"),
            "new": diff_cell(item["new_value"], absent=item["change_type"] == "removed"),
            "change_type": item["change_type"],
        }
        for item in field_diffs
    ]


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows shown, never added, edited or deleted here.

    Records and proposals change only through the pending queue; audit events and
    sync runs are history, which an edit would falsify.
    """

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def change_context(self, request: HttpRequest, object_id: str) -> dict[str, Any]:
        """What the change page adds to its template context; a subclass extends it."""
        return {}

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        context = {**(extra_context or {}), **self.change_context(request, object_id)}
        return super().change_view(request, object_id, form_url, extra_context=context)
