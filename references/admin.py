"""The category states, read-only (the records' admin proposes, so it lives in the queue)."""

from __future__ import annotations

from django.contrib import admin

from common.admin import ReadOnlyAdmin
from references.models import CategoryState


@admin.register(CategoryState)
class CategoryStateAdmin(ReadOnlyAdmin):
    list_display = (
        "category",
        "revision",
        "record_count",
        "last_updated",
        "created_count",
        "updated_count",
        "deleted_count",
    )
