"""The group tool routes, mounted by ``config/urls.py`` at ``model_references/v2/text_generation/``,
before the generic v2 patterns so these literal paths win."""

from __future__ import annotations

from django.urls import URLPattern, path, register_converter

from text_models.api import views


class ToolModelNameConverter:
    """A model name (``/`` allowed) that does not start with ``model/``: paths under
    ``model/`` stay the records' own (a record named ``x/name_exception`` is still read
    and written at ``.../model/x/name_exception``)."""

    regex = r"(?!model/).+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ToolModelNameConverter, "tool_model_name")

text_tool_urlpatterns: list[URLPattern] = [
    path("parse_name", views.ParseNameView.as_view(), name="text-parse-name"),
    path("group", views.GroupView.as_view(), name="text-group"),
    path("group/name_schema", views.GroupNameSchemaView.as_view(), name="text-group-name-schema"),
    path("group/common_fields", views.GroupCommonFieldsView.as_view(), name="text-group-common-fields"),
    path("distinct_baselines", views.DistinctBaselinesView.as_view(), name="text-distinct-baselines"),
    path("compose_name", views.ComposeNameView.as_view(), name="text-compose-name"),
    path("groups", views.GroupsView.as_view(), name="text-groups"),
    path("groups/summary", views.GroupsSummaryView.as_view(), name="text-groups-summary"),
    path("groups/health", views.GroupsHealthView.as_view(), name="text-groups-health"),
    path("aliases", views.AliasListView.as_view(), name="text-aliases"),
    path("aliases/<str:canonical>", views.AliasView.as_view(), name="text-alias"),
    path("aliases/<str:canonical>/add", views.AliasAddView.as_view(), name="text-alias-add"),
    path("aliases/<str:canonical>/remove", views.AliasRemoveView.as_view(), name="text-alias-remove"),
    path("families", views.FamilyListView.as_view(), name="text-families"),
    # Before ``families/<family_name>``: "detect" is a route, not a family.
    path("families/detect", views.FamiliesDetectView.as_view(), name="text-families-detect"),
    path("families/<str:family_name>", views.FamilyView.as_view(), name="text-family"),
    path("families/<str:family_name>/add", views.FamilyAddView.as_view(), name="text-family-add"),
    path("families/<str:family_name>/remove", views.FamilyRemoveView.as_view(), name="text-family-remove"),
    path(
        "<tool_model_name:model_name>/name_exception",
        views.NameExceptionView.as_view(),
        name="text-model-name-exception",
    ),
]
