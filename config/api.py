"""The v1 and v2 URL lists, composed above the apps.

A path whose GET is a public read (``references``) and whose other methods are queued
writes (``pending_queue``) has one view class, so drf-spectacular documents the path
once: the class is composed here from the read mixin and the write view, so neither
app imports the other. The document routes come from ``references.routes``, the table
the fast paths match with.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.urls import URLPattern, path

from pending_queue.api.queue import MyRolesView, PendingModelsView
from pending_queue.api.writes import (
    V1CategoryWrites,
    V1ModelWriteView,
    V2AddView,
    V2CategoryWrites,
    V2ModelWrites,
)
from references import routes
from references.api import v1, v2
from references.api.changes import ChangesView
from references.api.history import HISTORY_SUFFIX, V2ModelHistoryView


class V1CategoryView(v1.V1CategoryReads, V1CategoryWrites):
    """GET is the public document read (no auth, no SQL when warm); POST/PUT queue writes."""


class V2CategoryView(v2.V2CategoryReads, V2CategoryWrites):
    """GET is the public document read (no auth, no SQL when warm); POST queues a create."""


class V2ModelView(v2.V2ModelReads, V2ModelWrites):
    """GET is the public record read; PUT/DELETE queue an update/delete."""


_model_view = V2ModelView.as_view()


class V2ModelHistoryRoute(V2ModelHistoryView):
    """``.../model/<name>/history``: a record's history, unless that path names a record.

    Names may contain ``/``, so ``x/history`` is also a valid record name: while such a
    record exists, the path (and every write or ``as_of`` read on it) is that record's,
    as it was before history existed; its own history is at ``x/history/history``.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        full_name = kwargs["model_name"] + HISTORY_SUFFIX
        if (
            request.method not in ("GET", "HEAD")
            or "as_of" in request.GET
            or v2.record_exists(kwargs["model_category_name"], full_name)
        ):
            return _model_view(request, *args, **{**kwargs, "model_name": full_name})
        return super().dispatch(request, *args, **kwargs)


v1_urlpatterns: list[URLPattern] = [
    path("info", v1.V1InfoView.as_view(), name="v1-info"),
    routes.V1_MODEL_CATEGORIES.url(v1.V1ModelCategoriesView.as_view()),
    path("<str:model_category_name>/model/<path:model_name>", V1ModelWriteView.as_view(), name="v1-model"),
    routes.V1_CATEGORY.url(V1CategoryView.as_view()),
]

v2_urlpatterns: list[URLPattern] = [
    path("info", v2.V2InfoView.as_view(), name="v2-info"),
    routes.V2_MODEL_CATEGORIES.url(v2.V2ModelCategoriesView.as_view()),
    path("me/roles", MyRolesView.as_view(), name="v2-me-roles"),
    path("search", v2.V2SearchView.as_view(), name="v2-search"),
    path("changes", ChangesView.as_view(), name="v2-changes"),
    path("<str:model_category_name>/add", V2AddView.as_view(), name="v2-category-add"),
    path("<str:model_category_name>/pending", PendingModelsView.as_view(), name="v2-category-pending"),
    path("<str:model_category_name>/search", v2.V2CategorySearchView.as_view(), name="v2-category-search"),
    path(
        "<str:model_category_name>/model/<path:model_name>/history",
        V2ModelHistoryRoute.as_view(),
        name="v2-model-history",
    ),
    routes.V2_MODEL.url(_model_view),
    routes.V2_CATEGORY.url(V2CategoryView.as_view()),
]
