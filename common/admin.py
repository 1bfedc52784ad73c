"""Pieces the apps' admin modules share."""

from __future__ import annotations

import json

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString


def pretty_json(value: object) -> SafeString:
    """A JSON value, indented, for a read-only admin field (styled inline: no template needed)."""
    return format_html(
        '<pre class="json-pretty" style="white-space: pre-wrap; word-break: break-word; margin: 0">{}</pre>',
        json.dumps(value, indent=2, ensure_ascii=False),
    )


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
