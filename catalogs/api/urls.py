"""URL patterns of the catalogs, mounted by ``config.urls`` before the v2 category routes."""

from __future__ import annotations

from django.urls import URLPattern, path

from catalogs.api import views

guidance_urlpatterns: list[URLPattern] = [
    path("profiles", views.GuidanceProfilesView.as_view(), name="guidance-profiles"),
    path("profiles/<str:profile_id>", views.GuidanceProfileView.as_view(), name="guidance-profile"),
    path("assignments", views.GuidanceAssignmentsView.as_view(), name="guidance-assignments"),
    path("model", views.GuidanceModelView.as_view(), name="guidance-model"),
    path("export", views.GuidanceExportView.as_view(), name="guidance-export"),
    path(
        "migration/preview", views.GuidanceMigrationPreviewView.as_view(), name="guidance-migration-preview"
    ),
    path("change-sets", views.GuidanceChangeSetsView.as_view(), name="guidance-change-sets"),
]

baseline_urlpatterns: list[URLPattern] = [
    path("", views.BaselinesView.as_view(), name="baselines"),
    path("export", views.BaselinesExportView.as_view(), name="baselines-export"),
    path("change-sets", views.BaselineChangeSetsView.as_view(), name="baselines-change-sets"),
    path("<str:baseline_name>", views.BaselineView.as_view(), name="baseline"),
]
