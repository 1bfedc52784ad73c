"""Root URLs.

The API answers under ``/api`` and, as the established service does, also without
the prefix (``/model_references/...``, ``/heartbeat``).
"""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView, SpectacularSwaggerView

from catalogs.api.urls import baseline_urlpatterns, guidance_urlpatterns
from config.api import v1_urlpatterns, v2_urlpatterns
from config.service import HeartbeatView, ReplicateModeView, RootView
from licensing.api.views import licensing_urlpatterns
from pending_queue.api.audit import audit_urlpatterns
from pending_queue.api.metadata import V1ModelMetadataRoute
from pending_queue.api.queue import queue_urlpatterns
from references.api.export import export_urlpatterns
from references.api.metadata import metadata_urlpatterns
from references.routes import V1_PREFIX, V2_PREFIX
from sync.api.health import HealthReportView, LivenessView, ReadinessView
from sync.api.statistics import STATISTICS_PREFIX, PopularView, statistics_urlpatterns
from text_models.api.urls import text_tool_urlpatterns

api_patterns: list[URLPattern | URLResolver] = [
    path("", RootView.as_view(), name="root"),
    path("heartbeat", HeartbeatView.as_view(), name="heartbeat"),
    path("health", HealthReportView.as_view(), name="health"),
    path("health/ready", ReadinessView.as_view(), name="health-ready"),
    path("health/live", LivenessView.as_view(), name="health-live"),
    path("replicate_mode", ReplicateModeView.as_view(), name="replicate-mode"),
    path("model_references/export/", include(export_urlpatterns)),
    # Before the version modules: their `<category>` patterns must not see these paths.
    path(V1_PREFIX + "metadata/", include(metadata_urlpatterns("v1"))),
    path(V1_PREFIX + "pending_queue/audit/", include(audit_urlpatterns("v1"))),
    path(V1_PREFIX + "pending_queue/", include(queue_urlpatterns("v1"))),
    # Before v1's `<category>/model/<name>`, which would take "<name>/metadata" as a name.
    path(
        V1_PREFIX + "<str:model_category_name>/model/<path:model_name>/metadata",
        V1ModelMetadataRoute.as_view(),
        name="v1-model-metadata",
    ),
    path(V1_PREFIX, include(v1_urlpatterns)),
    path(V2_PREFIX + "metadata/", include(metadata_urlpatterns("v2"))),
    path(V2_PREFIX + "pending_queue/audit/", include(audit_urlpatterns("v2"))),
    path(V2_PREFIX + "pending_queue/", include(queue_urlpatterns("v2"))),
    path(STATISTICS_PREFIX, include(statistics_urlpatterns)),
    path(V2_PREFIX + "licensing/", include(licensing_urlpatterns)),
    # Literal catalog paths, before the v2 `<category>/...` patterns.
    path(V2_PREFIX + "text_generation/guidance/", include(guidance_urlpatterns)),
    path(V2_PREFIX + "image_generation/baselines/", include(baseline_urlpatterns)),
    # The text group tools: literal paths, before the generic `<category>/...` patterns.
    path(V2_PREFIX + "text_generation/", include(text_tool_urlpatterns)),
    path(V2_PREFIX + "<str:model_category_name>/popular", PopularView.as_view(), name="v2-popular"),
    path(V2_PREFIX, include(v2_urlpatterns)),
]

# drf-spectacular's ReDoc page, less the web fonts it loads from outside.
REDOC_TEMPLATE = "references/redoc.html"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/openapi.json", SpectacularJSONAPIView.as_view(), name="openapi-schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="openapi-schema"), name="swagger-ui"),
    path(
        "api/redoc",
        SpectacularRedocView.as_view(url_name="openapi-schema", template_name=REDOC_TEMPLATE),
        name="redoc",
    ),
    # Like every other route, the schema and its pages also answer without the prefix.
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi-schema-unprefixed"),
    path("docs", SpectacularSwaggerView.as_view(url_name="openapi-schema"), name="swagger-ui-unprefixed"),
    path(
        "redoc",
        SpectacularRedocView.as_view(url_name="openapi-schema", template_name=REDOC_TEMPLATE),
        name="redoc-unprefixed",
    ),
    path("api/", include((api_patterns, "api"), namespace="api")),
    path("", include((api_patterns, "api"), namespace="api-unprefixed")),
]

handler400 = "common.api.json_bad_request"
handler404 = "common.api.json_not_found"
handler500 = "common.api.json_server_error"
